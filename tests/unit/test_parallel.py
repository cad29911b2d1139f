"""The write path without a server: sub-batches and prefetching change no byte.

`--jobs` and joined runs against a real server are in tests/db/test_parallel.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from growth_sim.engine import parallel, pipeline
from growth_sim.models.api import Widths
from growth_sim.models.taskpilot.model import TaskPilot
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

PROFILE = "taskpilot"
SCALE, SEED = 0.01, 3


def test_sub_batches_cut_without_changing_a_byte():
    model = TaskPilot(Schedule(load_profile(PROFILE), SCALE), SEED)
    widths = Widths({"comments": 1.3})
    whole = model.insert_batch("comments", 100, 2100, widths)
    parts = list(pipeline.sub_batches(lambda a, b: model.insert_batch("comments", a, b, widths), 100, 2100,
                                      chunk_bytes=200_000))
    assert len(parts) > 3
    assert sum(p.rows for p in parts) == whole.rows == 2000
    assert b"".join(p.data for p in parts) == whole.data


def test_prefetch_hands_values_to_the_producer_and_raises_its_errors():
    def produce(take):
        for _unit in range(3):
            factor = take()
            yield from (np.arange(2) * factor).tolist()
            yield pipeline.END
        raise ValueError("generator failed")

    with pipeline.Prefetch(produce, depth=1) as ahead:
        seen = []
        for factor in (1, 10, 100):
            ahead.give(factor)
            seen.append(list(ahead.unit()))
        assert seen == [[0, 1], [0, 10], [0, 100]]
        with pytest.raises(ValueError, match="generator failed"):
            list(ahead.unit())


def test_the_default_connections_are_the_cores_this_process_may_use():
    cores = os.sched_getaffinity(0)
    assert parallel.default_jobs() == min(parallel.MAX_DEFAULT_JOBS, len(cores))
    # pinned to one core (as a container's cpuset would), in a child so that this process keeps its cores
    script = (f"import os; os.sched_setaffinity(0, {{{min(cores)}}});"
              " from growth_sim.engine.parallel import default_jobs; print(default_jobs())")
    pinned = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert pinned.stdout.strip() == "1"
