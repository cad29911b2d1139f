"""What a validated profile holds: milestones, streams, the daily curve, widths, bloat and steady settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HOURS_PER_WEEK = 168
_WEEK_RE = re.compile(r"^week-(\d+)$")


@dataclass(frozen=True)
class Milestone:
    """A row of the growth table: exact counts and a size at a simulated hour."""

    label: str
    hour: int
    counts: dict[str, int]
    size: int


@dataclass(frozen=True)
class Derived:
    """A stream growing with others: ``initial + ratio * (growth of the streams in per)``.

    The stream inserts rows into the table `name`, or, with `operation`, counts operations (such as issue
    updates) that are not rows of a table.
    """

    name: str
    per: tuple[str, ...]
    ratio: float
    initial: int | None  # None: proportional, ceil(ratio * per) at every hour, history included
    history_days: float
    operation: bool = False

    @property
    def proportional(self) -> bool:
        """Child row m belongs to parent row floor(m / ratio) (e.g. the labels of an issue)."""
        return self.initial is None


@dataclass(frozen=True)
class Lagged:
    """Operations acting on a share of another stream's rows `delay_hours` after they were created."""

    name: str
    of: str
    kind: str  # "update" or "delete"
    share: float
    delay_hours: int


@dataclass(frozen=True)
class TextWidth:
    """Log-normal text length in characters, clipped to [min, max]."""

    median: float
    sigma: float
    min: int
    max: int


@dataclass(frozen=True)
class Width:
    """Row-width model of one table."""

    bytes_per_row: int | None = None
    text: TextWidth | None = None
    preview_min: int = 0
    preview_max: int = 0


@dataclass(frozen=True)
class BloatTarget:
    """Where pgstattuple bloat (dead + free, % of the table) should land, and the set point inside it."""

    low: float
    high: float
    target: float


@dataclass(frozen=True)
class SteadySettings:
    """`growth-sim steady` in the load guide's terms: `vus` virtual users grow the database by `vus_rate`
    (bytes per second, linear in the number of users), and named runs (preset -> virtual users, wall seconds)."""

    vus: int
    vus_rate: float
    presets: dict[str, tuple[int, float]]

    def rate_of(self, users: int) -> float:
        """Bytes per second that `users` virtual users add."""
        return self.vus_rate * users / self.vus


@dataclass(frozen=True)
class Profile:
    """A validated profile."""

    name: str
    description: str
    model: str
    start: datetime
    history_days: float
    milestones: tuple[Milestone, ...]
    derived: tuple[Derived, ...]
    rates: dict[str, float]
    lagged: tuple[Lagged, ...]
    curve: tuple[int, ...]
    weekend_factor: float
    widths: dict[str, Width]
    budget: dict[str, int]
    bloat: dict[str, BloatTarget]
    vacuum_check_hours: int
    vacuum_quiet_hours: int
    model_params: dict[str, Any] = field(repr=False)
    path: Path = field(repr=False)
    content_hash: str = field(repr=False)
    steady: SteadySettings | None = None

    @property
    def last_hour(self) -> int:
        return self.milestones[-1].hour

    @property
    def milestone_tables(self) -> tuple[str, ...]:
        return tuple(self.milestones[0].counts)

    def milestone(self, label: str) -> Milestone:
        for m in self.milestones:
            if m.label == label:
                return m
        raise KeyError(label)


def hour_of_label(label: str) -> int | None:
    """The simulated hour of a milestone label (``initial`` = 0, ``week-N`` = N * 168, any case), or None."""
    label = label.strip().lower()
    if label == "initial":
        return 0
    match = _WEEK_RE.match(label)
    return int(match.group(1)) * HOURS_PER_WEEK if match else None
