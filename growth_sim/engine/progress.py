"""What a run reports to its caller while it works (the CLI draws a progress bar from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Progress:
    """Where a run stands: units of `phase` done out of `total`, the rows and bytes written so far."""

    phase: str
    done: int
    total: int
    hour: int | None
    rows: int
    bytes: int
    elapsed: float
