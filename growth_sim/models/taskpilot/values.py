"""Column values of the TaskPilot tables, as COPY text: keys, timestamps, numbers, choices and corpus text."""

from __future__ import annotations

import numpy as np

from growth_sim.generate.batch import NULL
from growth_sim.generate.rand import timestamps, uuid_strings
from growth_sim.generate.text import CORPUS_CHARS, slices
from growth_sim.models.taskpilot.world import World


def ids(world: World, table: str, ordinals: np.ndarray) -> list[str]:
    """The uuid keys of rows `ordinals` of `table`."""
    return uuid_strings(world.seed, table, ordinals)


def times(world: World, hours: np.ndarray) -> list[str]:
    """Timestamps at simulated `hours`."""
    return timestamps(world.schedule.profile.start, hours)


def ints(values: np.ndarray) -> list[str]:
    return np.asarray(values).astype(np.int64).astype(str).tolist()


def pick(names: tuple[str, ...], idx: np.ndarray) -> list[str]:
    return np.asarray(names, dtype=object)[idx].tolist()


def nullable(values: list[str], present: np.ndarray) -> list[str]:
    """`values` where `present`, NULL elsewhere."""
    return [v if p else NULL for v, p in zip(values, present.tolist(), strict=True)]


def corpus_text(world: World, table: str, field: str, ordinals: np.ndarray, factor: float = 1.0) -> list[str]:
    """Corpus text with the profile's length distribution for the table, scaled by its width factor."""
    width = world.schedule.profile.widths.get(table)
    spec = width.text if width else None
    median, sigma, lo, hi = (spec.median, spec.sigma, spec.min, spec.max) if spec else (60, 0.4, 10, 200)
    s = world.stream(table)
    lengths = np.clip(s.lognormal(field + ".len", ordinals, median * factor, sigma), lo, hi).astype(np.int64)
    offsets = (s.bits(field + ".at", ordinals) % np.uint64(CORPUS_CHARS)).astype(np.int64)
    return slices(offsets, lengths)


def short_text(world: World, table: str, field: str, ordinals: np.ndarray, lo: int, hi: int) -> list[str]:
    """Corpus text of lo..hi characters (names, titles), never empty."""
    s = world.stream(table)
    lengths = lo + s.integers(field + ".len", ordinals, hi - lo + 1)
    offsets = (s.bits(field + ".at", ordinals) % np.uint64(CORPUS_CHARS)).astype(np.int64)
    return [t.strip() or "untitled" for t in slices(offsets, lengths)]
