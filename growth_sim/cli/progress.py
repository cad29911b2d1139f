"""A tqdm progress bar over a run's units, in simulated time."""

from __future__ import annotations

import sys
from types import TracebackType

from tqdm import tqdm

from growth_sim.engine.progress import Progress


class ProgressBar:
    """Draws `Progress` reports: the initial load by units, then simulated hours with rows/s and MB/s."""

    def __init__(self, *, disabled: bool = False) -> None:
        self.disabled = disabled
        self._bar: tqdm | None = None
        self._phase = ""

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()

    def write(self, line: str) -> None:
        """A line on stderr that does not run into the bar (the bar is redrawn below it)."""
        tqdm.write(line, file=sys.stderr)

    def update(self, p: Progress) -> None:
        if self.disabled:
            return
        if p.phase != self._phase:
            if self._bar is not None:
                self._bar.close()
            label = {"initial": "initial dataset", "joined": "chunks written for the running advance"}.get(
                p.phase, "simulated hours")
            self._bar = tqdm(total=p.total, desc=label, unit="unit" if p.phase == "initial" else "h",
                             dynamic_ncols=True, leave=True)
            self._phase = p.phase
        assert self._bar is not None
        self._bar.n = p.done
        rate = p.rows / p.elapsed if p.elapsed > 0 else 0.0
        postfix = {"rows/s": f"{rate:,.0f}"}
        if p.hour is not None:
            postfix["week"] = f"{p.hour / 168:.2f}"
            postfix["MB/s"] = f"{p.bytes / 1e6 / p.elapsed:.1f}" if p.elapsed > 0 else "0"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.refresh()
