"""Counter-based randomness: every value is a pure function of (seed, stream, field, ordinal).

No generator state is carried between batches, so a row is the same however a run is split or resumed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint16)  # byte -> 2 hex digits
_VARIANT = np.uint64(0x8000000000000000)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_UUID_SLOTS = np.r_[0:8, 9:13, 14:18, 19:23, 24:36]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place over a 1-d uint64 array (array arithmetic wraps without warnings)."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


@lru_cache(maxsize=4096, typed=True)  # typed: 1 and np.int64(1) have different reprs, hence keys
def key(seed: int, *names: str) -> np.uint64:
    """A 64-bit key for a named stream of values under a seed."""
    digest = hashlib.blake2b(repr((seed, names)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def bits(k: np.uint64, ordinals: np.ndarray) -> np.ndarray:
    """64 random bits per ordinal."""
    ordinals = np.asarray(ordinals)
    x = ordinals.astype(np.uint64).reshape(-1)  # a copy, mixed in place
    x *= _GOLDEN
    x += k
    return _mix(x).reshape(ordinals.shape)


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
    n = len(ordinals)
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0] = (bits(key(seed, table, "id.hi"), ordinals) & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    raw[:, 1] = (bits(key(seed, table, "id.lo"), ordinals) & np.uint64(0x3FFFFFFFFFFFFFFF)) | _VARIANT
    out = np.full((n, 37), ord("-"), dtype=np.uint8)  # 36 characters and a newline per UUID
    out[:, _UUID_SLOTS] = _HEX_PAIRS[raw.view(np.uint8).reshape(n, 16)].view(np.uint8)
    out[:, 36] = ord("\n")
    return out.tobytes().decode("ascii").split("\n")[:-1]


def timestamps(start: datetime, hours: np.ndarray) -> list[str]:
    """ISO timestamps (UTC, whole seconds) of fractional simulated hours after `start`."""
    base = np.datetime64(start.replace(tzinfo=None), "s")
    stamps = base + np.floor(np.asarray(hours) * 3600).astype("timedelta64[s]")
    return [s + "Z" for s in np.datetime_as_string(stamps, unit="s").tolist()]
