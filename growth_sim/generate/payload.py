"""Payloads: incompressible bytes of log-normal sizes, the material of a model's size knob (see
`growth_sim.models.api.Model.size_knob`). Sizes and bytes are pure functions of (seed, table, column, ordinal)."""

from __future__ import annotations

import numpy as np

from growth_sim.generate.rand import Stream, key

SIGMA = 0.5  # the spread of payload sizes around their median (the engine's size controller expects it)


def sizes(stream: Stream, field: str, ordinals: np.ndarray, median: float, lo: int, hi: int) -> np.ndarray:
    """Payload bytes of each row: log-normal around `median`, clipped to [lo, hi]."""
    return np.clip(stream.lognormal(field, ordinals, median, SIGMA), lo, hi).astype(np.int64)


def random_bytes(seed: int, table: str, column: str, ordinal: int, size: int) -> bytes:
    """`size` incompressible bytes (like image data) of one row's payload column."""
    gen = np.random.Generator(np.random.Philox(key=int(key(seed, table, column)) ^ ordinal))
    return gen.bytes(size)
