"""Counter-based randomness: every value is a pure function of (seed, stream, field, ordinal).

No generator state is carried between batches, so a row is the same however a run is split or resumed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_SLOTS = np.r_[0:8, 9:13, 14:18, 19:23, 24:36]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised over uint64."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def key(seed: int, *names: str) -> np.uint64:
    """A 64-bit key for a named stream of values under a seed."""
    digest = hashlib.blake2b(repr((seed, names)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def bits(k: np.uint64, ordinals: np.ndarray) -> np.ndarray:
    """64 random bits per ordinal."""
    with np.errstate(over="ignore"):
        return _mix(np.asarray(ordinals).astype(np.uint64) * _GOLDEN + k)


class Stream:
    """Values for one table (or operation) under one seed; each field draws from its own key."""

    def __init__(self, seed: int, name: str) -> None:
        self.seed, self.name = seed, name

    def bits(self, field: str, ordinals: np.ndarray) -> np.ndarray:
        return bits(key(self.seed, self.name, field), ordinals)

    def uniform(self, field: str, ordinals: np.ndarray) -> np.ndarray:
        """Floats in [0, 1)."""
        return (self.bits(field, ordinals) >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)

    def integers(self, field: str, ordinals: np.ndarray, high: np.ndarray | int) -> np.ndarray:
        """Integers in [0, high) (high may vary per ordinal)."""
        return np.floor(self.uniform(field, ordinals) * high).astype(np.int64)

    def choice(self, field: str, ordinals: np.ndarray, weights: dict[str, float]) -> np.ndarray:
        """Indices into `weights` drawn with those weights."""
        cum = np.cumsum(np.fromiter(weights.values(), dtype=np.float64))
        return np.minimum(np.searchsorted(cum / cum[-1], self.uniform(field, ordinals), side="right"),
                          len(cum) - 1)

    def lognormal(self, field: str, ordinals: np.ndarray, median: float, sigma: float) -> np.ndarray:
        """Log-normal values (Box-Muller on two counter-based uniforms)."""
        u1 = 1.0 - self.uniform(field + ".1", ordinals)
        u2 = self.uniform(field + ".2", ordinals)
        normal = np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)
        return median * np.exp(sigma * normal)

    def uuids(self, ordinals: np.ndarray) -> list[str]:
        """Version-4 UUID strings; the id of row `ordinal` of this stream."""
        return uuid_strings(self.seed, self.name, ordinals)


def uuid_strings(seed: int, table: str, ordinals: np.ndarray) -> list[str]:
    """The primary key of rows `ordinals` of `table` under `seed`, as canonical UUID text."""
    ordinals = np.asarray(ordinals)
    hi = bits(key(seed, table, "id.hi"), ordinals)
    lo = bits(key(seed, table, "id.lo"), ordinals)
    hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    raw = np.empty((len(ordinals), 2), dtype=">u8")
    raw[:, 0], raw[:, 1] = hi, lo
    octets = raw.view(np.uint8).reshape(-1, 16)
    hexed = np.empty((len(ordinals), 32), dtype=np.uint8)
    hexed[:, 0::2], hexed[:, 1::2] = _HEX[octets >> 4], _HEX[octets & 15]
    out = np.full((len(ordinals), 36), ord("-"), dtype=np.uint8)
    out[:, _UUID_SLOTS] = hexed
    return out.view("S36").ravel().astype("U36").tolist()


def timestamps(start: datetime, hours: np.ndarray) -> list[str]:
    """ISO timestamps (UTC, whole seconds) of fractional simulated hours after `start`."""
    base = np.datetime64(start.replace(tzinfo=None), "s")
    stamps = base + np.floor(np.asarray(hours) * 3600).astype("timedelta64[s]")
    return [s + "Z" for s in np.datetime_as_string(stamps, unit="s").tolist()]
