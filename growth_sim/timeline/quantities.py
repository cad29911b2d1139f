"""Parsing and printing of sizes, durations and rates ("10 GiB", "+3d", "10GiB/week"), and the checks of the
scale and seed that data is grown with."""

from __future__ import annotations

import math
import re

from growth_sim.errors import GrowthSimError

SCALE_MAX = 1000  # the largest scale a database is grown at (a plan, which grows nothing, takes any)
SEED_LIMIT = 2**63  # seeds are stored as PostgreSQL bigint

_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
}
_DURATION_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
}
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_SIZE_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Z]*)\s*$")
_DURATION_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Z]+)\s*$")


def parse_size(text: str | int | float) -> int:
    """Bytes in a size such as ``"10 GiB"``, ``"10GB"``, ``"1.5TB"`` or a plain number of bytes.

    Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) powers of 1024.
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a size")
    if isinstance(text, int | float):
        if not math.isfinite(text) or text < 0:
            raise ValueError(f"{text!r} is not a size: it must be a non-negative number of bytes")
        return int(text)
    match = _SIZE_RE.match(text) if isinstance(text, str) else None
    unit = match.group(2).lower() if match else ""
    if not match or (unit and unit not in _SIZE_UNITS):
        raise ValueError(
            f"{text!r} is not a size: write a number and a unit such as 512MiB, 10 GiB, 10GB or 1.5TB"
        )
    n = float(match.group(1)) * _SIZE_UNITS.get(unit, 1)
    if not math.isfinite(n):
        raise ValueError(f"{text!r} is not a size: the number is too large")
    return int(round(n))


def format_size(n: float) -> str:
    """Human size with binary units, e.g. ``10.0 GiB``."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``"90s"``, ``"10m"``, ``"8h"``, ``"3d"`` or ``"1 week"``."""
    match = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not match or match.group(2).lower() not in _DURATION_UNITS:
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit such as 90s, 10m, 8h, 3d or 1w"
        )
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a duration: the number is too large")
    return seconds


_RATE_HELP = "write a size per period such as 10GiB/week, 1.5GB/day, 200MiB/h or 500KB/s"
_RATE_PERIODS = {"s": 1, "min": 60, "h": 3600, "day": 86400, "week": 604800}


def parse_rate(text: str) -> float:
    """Bytes per second in a rate such as ``"10GiB/week"``, ``"1.5GB/day"``, ``"200MiB/h"``, ``"500KB/s"``.

    The size takes decimal (kB, MB, GB, TB) or binary (KiB, MiB, GiB, TiB) units; the period is a duration unit
    (s, min, h, day, week and their spellings), optionally with a count (``1GiB/2d``). ``per`` may replace ``/``.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a rate: {_RATE_HELP}")
    size, sep, period = re.sub(r"\s+per\s+", "/", text.strip(), count=1).partition("/")
    if not sep or not size.strip() or not period.strip():
        raise ValueError(f"{text!r} is not a rate: {_RATE_HELP}")
    try:
        amount = parse_size(size)
    except ValueError:
        raise ValueError(f"{text!r} is not a rate: {size.strip()!r} is not a size (units: B, kB, MB, GB, TB, "
                         f"KiB, MiB, GiB, TiB); {_RATE_HELP}") from None
    period = period.strip()
    try:
        seconds = parse_duration(period if period[:1].isdigit() or period[:1] == "." else f"1{period}")
    except ValueError:
        raise ValueError(f"{text!r} is not a rate: {period!r} is not a period (units: s, min, h, day, week); "
                         f"{_RATE_HELP}") from None
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a rate: the period must be longer than zero")
    return amount / seconds


def format_rate(per_second: float, period: str = "day") -> str:
    """A rate in binary and decimal units per `period` (s, min, h, day or week), e.g. ``1.0 GiB/day (1.07 GB/day)``."""
    amount = per_second * _RATE_PERIODS[period]
    decimal = next((f"{amount / f:.3g} {u}" for f, u in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"))
                    if abs(amount) >= f), f"{amount:.0f} B")
    return f"{format_size(amount)}/{period} ({decimal}/{period})"


def rate_period(text: str) -> str:
    """The period a rate was written with, for showing rates back in the user's terms (default ``day``)."""
    period = re.sub(r"\s+per\s+", "/", text.strip(), count=1).partition("/")[2].strip().lstrip("0123456789. ")
    seconds = _DURATION_UNITS.get(period.lower())
    return next((name for name, s in _RATE_PERIODS.items() if s == seconds), "day")


def parse_scale(text: str | float) -> float:
    """The ``--scale`` factor in `text` (or a number): positive and finite."""
    try:
        scale = float(text)
    except (TypeError, ValueError):
        scale = math.nan
    if not (math.isfinite(scale) and scale > 0):
        raise GrowthSimError(f"--scale must be a positive number such as 1, 0.1 or 0.01, got {text!r}")
    return scale


def check_seed_scale(seed: int | None, scale: float | None) -> None:
    """Refuse a seed or scale a database cannot be grown with (None: not given)."""
    if scale is not None and not (0 < scale <= SCALE_MAX):
        raise GrowthSimError(f"--scale must be a number above 0 and at most {SCALE_MAX}, got {scale}")
    if seed is not None and not (0 <= seed < SEED_LIMIT):
        raise GrowthSimError(f"--seed must be between 0 and 2**63 - 1, got {seed}")
