"""Figures of a run's history (matplotlib, no pyplot: they render headless and in notebooks alike).

Each panel is a function drawing onto an area of a figure (a `Figure` or a `SubFigure`); `panel_figure` gives one
panel a figure of its own and `growth_figure` puts them all on one page (what `growth-sim plot` writes as a PNG).
The panels that compare a measurement with the plan draw the plan as markers over the measured line, and the gap
between them on a small panel below it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import groupby
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, Locator

from growth_sim.errors import GrowthSimError
from growth_sim.observe.history import History
from growth_sim.timeline.quantities import format_size

HOURS_PER_DAY = 24
DEFAULT_DPI = 100
FONT_SIZE = 10
"""Points; every text of a figure is at least `SMALL_FONT_SIZE`, at least 11 pixels high at `DEFAULT_DPI`."""
SMALL_FONT_SIZE = 8.5
_PLAN_MARKERS = 24
"""About this many plan markers along a line: enough to follow it, few enough to see the line under them."""
_KINDS = (("heap", "heap"), ("indexes", "indexes"), ("toast", "TOAST"))
_BINARY_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
_BAND_HATCHES = ("////", "\\\\\\\\", "....", "xx")

Area = Figure | SubFigure


class BinarySizeLocator(Locator):
    """Ticks at the multiples of a power of two bytes (64 MiB: 0, 64 MiB, 128 MiB, 192 MiB ...), at most `most`."""

    def __init__(self, most: int = 7) -> None:
        self.most = most

    def __call__(self) -> Sequence[float]:
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float) -> Sequence[float]:
        low, high = sorted((vmin, vmax))
        step = 2.0 ** max(0, math.ceil(math.log2(max(high - low, 1.0) / self.most)))
        first = math.ceil(low / step)
        return [k * step for k in range(first, math.floor(high / step) + 1)]


def binary_size(value: float, _pos: int | None = None) -> str:
    """A tick label in the largest binary unit it reaches, exact: 192 MiB, 1 GiB, 1.25 GiB."""
    if value == 0:
        return "0"
    name, unit = next(((n, u) for n, u in _BINARY_UNITS if abs(value) >= u), ("B", 1))
    return f"{value / unit:g} {name}"


def _size_axis(axis) -> None:  # matplotlib.axis.Axis
    axis.set_major_locator(BinarySizeLocator())
    axis.set_major_formatter(FuncFormatter(binary_size))


def _days(history: History) -> list[float]:
    return [h / HOURS_PER_DAY for h in history.hours]


def _plan_points(values: Sequence[float]) -> slice:
    """Which points of a plan line carry a marker: evenly spaced, the last one included."""
    return slice((len(values) - 1) % max(1, len(values) // _PLAN_MARKERS), None, max(1, len(values) // _PLAN_MARKERS))


def _style(ax: Axes, title: str | None = None, *, time_axis: bool = True) -> None:
    if title:
        ax.set_title(title, fontsize=FONT_SIZE + 1)
    if time_axis:
        ax.set_xlabel("simulated days since week 0", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=SMALL_FONT_SIZE + 0.5)
    ax.grid(alpha=0.3)


def _with_gap_panel(area: Area) -> tuple[Axes, Axes]:
    """A main panel and, below it on the same time axis, a small one for the gap to the plan."""
    main, gap = area.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    main.tick_params(labelbottom=False)
    gap.axhline(0, color="black", linewidth=0.8)
    return main, gap


def _percent_gap(measured: Sequence[float | None], planned: Sequence[float | None]) -> list[float]:
    return [(m - p) / p * 100 if m is not None and p else math.nan for m, p in zip(measured, planned, strict=True)]


def draw_rows(area: Area, history: History) -> None:
    """Per table, log scale: live rows in pg_stat_user_tables (line; VACUUM makes it an estimate), the plan
    (open circles), the exact count(*) at the latest measurement (dots); below, each table's gap to the plan."""
    ax, gap = _with_gap_panel(area)
    days = _days(history)
    for table in history.planned_tables():
        live, planned = history.series(table, "live"), history.series(table, "planned_rows")
        (line,) = ax.plot(days, live, linewidth=1.5, label=table)
        color = line.get_color()
        marks = _plan_points(days)
        ax.plot(days[marks], planned[marks], linestyle="", marker="o", markersize=4, markerfacecolor="none",
                markeredgewidth=1, color=color, zorder=3)
        gap.plot(days, _percent_gap(live, planned), linewidth=1, color=color)
        if table in history.counts:
            ax.plot(days[-1], history.counts[table], marker="o", markersize=5, color=color, zorder=4)
            gap.plot(days[-1], _percent_gap([history.counts[table]], planned[-1:])[0], marker="o", markersize=4,
                     color=color)
    ax.set_yscale("log")
    ax.set_ylabel("rows", fontsize=FONT_SIZE)
    ax.plot([], [], linestyle="", marker="o", markerfacecolor="none", color="gray", label="plan")
    ax.plot([], [], linestyle="", marker="o", color="gray", label="count(*), at the end")
    ax.legend(fontsize=SMALL_FONT_SIZE, ncol=2, loc="lower right")
    _style(ax, "Rows per table: n_live_tup against the plan", time_axis=False)
    gap.set_ylabel("vs plan, %", fontsize=SMALL_FONT_SIZE)
    _style(gap)


def draw_size(area: Area, history: History) -> None:
    """The database size against the plan (open circles) and the growth table's milestones; below, the gap."""
    ax, gap = _with_gap_panel(area)
    days = _days(history)
    measured = [s.db_size for s in history.samples]
    planned = [s.planned_size for s in history.samples]
    ax.plot(days, measured, linewidth=2, label="measured (pg_database_size)")
    marks = _plan_points(days)
    ax.plot(days[marks], planned[marks], linestyle="", marker="o", markersize=4, markerfacecolor="none",
            color="black", zorder=3, label="plan")
    first, last = days[0], days[-1]
    for m in history.reached():
        day = m.hour / HOURS_PER_DAY
        ax.plot(day, m.size, marker="D", color="crimson", markersize=7, zorder=4)
        # Above the point, towards the inside of the panel, so that no label leaves it.
        right_half = day > (first + last) / 2
        ax.annotate(m.label, (day, m.size), textcoords="offset points", xytext=(-6 if right_half else 6, 6),
                    ha="right" if right_half else "left", va="bottom", fontsize=SMALL_FONT_SIZE + 0.5,
                    color="crimson", bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none",
                                           "alpha": 0.8})
    ax.plot([], [], marker="D", linestyle="", color="crimson", label="milestone")
    ax.margins(x=0.03, y=0.12)
    _size_axis(ax.yaxis)
    ax.legend(fontsize=SMALL_FONT_SIZE, loc="upper left")
    _style(ax, "Database size against the plan and the milestones", time_axis=False)
    gap.plot(days, _percent_gap(measured, planned), linewidth=1, color=ax.lines[0].get_color())
    gap.set_ylabel("vs plan, %", fontsize=SMALL_FONT_SIZE)
    _style(gap)


def draw_bloat(area: Area, history: History) -> None:
    """pgstattuple bloat (dead + free space, % of the heap) of each hot table, with its target band.

    Hours that skipped a table's reading (its bloat could not have reached the set point) have no point.
    """
    ax = area.add_subplot()
    days = _days(history)
    for table, hatch in zip(history.hot_tables, _BAND_HATCHES * len(history.hot_tables), strict=False):
        read = [(d, b) for d, b in zip(days, history.series(table, "bloat_percent"), strict=True) if b is not None]
        (line,) = ax.plot([d for d, _ in read], [b for _, b in read], linewidth=1.5, label=f"{table} bloat")
        low, high = history.bloat_bands[table]
        ax.axhspan(low, high, facecolor=line.get_color(), alpha=0.12, edgecolor=line.get_color(), hatch=hatch,
                   linewidth=0, label=f"{table} target {low:g}-{high:g} %")
        for edge in (low, high):
            ax.axhline(edge, color=line.get_color(), linestyle="--", linewidth=0.9)
    ax.set_ylabel("bloat, % of the heap", fontsize=FONT_SIZE)
    ax.set_ylim(bottom=0, top=max(high for _, high in history.bloat_bands.values()) * 1.25)
    ax.legend(fontsize=SMALL_FONT_SIZE, loc="lower right", ncol=2)
    _style(ax, "Bloat of the hot tables against their targets")


def draw_dead(area: Area, history: History) -> None:
    """Dead tuples of each hot table; a triangle on the curve where the emulated VACUUMs of consecutive hours
    cleared them (at the count they cleared), with the number of VACUUMs when more than one."""
    ax = area.add_subplot()
    days = _days(history)
    for table in history.hot_tables:
        dead = [d or 0 for d in history.series(table, "dead")]
        (line,) = ax.plot(days, dead, linewidth=1.5, label=table)
        hours = [i for i, v in enumerate(history.series(table, "vacuumed")) if v]
        episodes = [[i for _, i in run] for _, run in groupby(enumerate(hours), lambda p: p[1] - p[0])]
        for run in episodes:
            peak = max(dead[max(run[0] - 1, 0): run[-1] + 1])
            ax.plot(days[run[0]], peak, linestyle="", marker="v", markersize=7, color=line.get_color(),
                    markeredgecolor="white", zorder=4)
            if len(run) > 1:
                ax.annotate(f"{len(run)}x", (days[run[0]], peak), textcoords="offset points", xytext=(5, 2),
                            fontsize=SMALL_FONT_SIZE, color=line.get_color())
        runs = f"{len(hours)} in {len(episodes)} run{'s' if len(episodes) > 1 else ''}" if hours else "none"
        ax.plot([], [], linestyle="", marker="v", color=line.get_color(), label=f"VACUUM {table}: {runs}")
    ax.set_ylabel("dead tuples (n_dead_tup)", fontsize=FONT_SIZE)
    ax.set_ylim(bottom=0)
    ax.margins(y=0.15)
    ax.legend(fontsize=SMALL_FONT_SIZE, loc="upper left")
    _style(ax, "Dead tuples and vacuum events")


def draw_breakdown(area: Area, history: History) -> None:
    """Heap, index and TOAST bytes of every table at the latest measurement, each bar with its total."""
    ax = area.add_subplot()
    latest = history.latest
    tables = list(reversed(history.tables()))
    left = np.zeros(len(tables))
    for key, label in _KINDS:
        widths = np.array([getattr(latest.tables[t], key) for t in tables], dtype=float)
        ax.barh(tables, widths, left=left, label=label)
        left += widths
    for y, total in enumerate(left):
        ax.annotate(format_size(total), (total, y), textcoords="offset points", xytext=(4, 0), va="center",
                    fontsize=SMALL_FONT_SIZE)
    ax.margins(x=0.08)
    _size_axis(ax.xaxis)
    ax.set_title(f"Size per table at hour {latest.hour} (week {latest.hour / 168:.2f})", fontsize=FONT_SIZE + 1)
    ax.tick_params(labelsize=SMALL_FONT_SIZE + 0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=SMALL_FONT_SIZE, loc="lower right")


PANELS: dict[str, Callable[[Area, History], None]] = {
    "rows": draw_rows,
    "size": draw_size,
    "bloat": draw_bloat,
    "dead": draw_dead,
    "breakdown": draw_breakdown,
}


def _require_samples(history: History) -> None:
    if not history.samples:
        raise GrowthSimError("the database has no measurements yet: grow it first, e.g. "
                             "`growth-sim advance --to initial`")


def panel_figure(history: History, name: str) -> Figure:
    """One panel (a key of `PANELS`) on a figure of its own."""
    _require_samples(history)
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    PANELS[name](fig, history)
    return fig


def growth_figure(history: History) -> Figure:
    """All panels on one page: rows and size (each with its gap to the plan), bloat and dead tuples, and the size
    breakdown across the bottom."""
    _require_samples(history)
    fig = Figure(figsize=(14, 15), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[1.25, 1, 1])
    for (row, col), name in zip([(0, 0), (0, 1), (1, 0), (1, 1)], ["rows", "size", "bloat", "dead"], strict=True):
        PANELS[name](fig.add_subfigure(grid[row, col]), history)
    draw_breakdown(fig.add_subfigure(grid[2, :]), history)
    fig.suptitle(f"growth-sim: {history.describe()}", fontsize=FONT_SIZE + 2)
    return fig


def save_growth_figure(history: History, path: str | Path, *, dpi: int = DEFAULT_DPI) -> Path:
    """Write `growth_figure` to `path` (format from the suffix, PNG when there is none); returns the path."""
    path = Path(path)
    fig = growth_figure(history)
    try:
        fig.savefig(path, dpi=dpi, format=None if path.suffix else "png")
    except OSError as exc:
        raise GrowthSimError(f"cannot write {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise GrowthSimError(f"cannot write {path}: {exc}; use a .png file name") from None
    return path
