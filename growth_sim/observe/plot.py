"""Figures of a run's history (matplotlib, no pyplot: they render headless and in notebooks alike).

Each panel is a function drawing onto an Axes; `panel_figure` gives one panel its own figure and
`growth_figure` puts them all on one page (what `growth-sim plot` writes as a PNG).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from growth_sim.errors import GrowthSimError
from growth_sim.observe.history import History
from growth_sim.timeline.quantities import format_size

HOURS_PER_DAY = 24
_SIZE_TICKS = FuncFormatter(lambda value, _pos: format_size(value))
_KINDS = (("heap", "heap"), ("indexes", "indexes"), ("toast", "TOAST"))


def _days(history: History) -> list[float]:
    return [h / HOURS_PER_DAY for h in history.hours]


def _time_axis(ax: Axes, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("simulated days since week 0", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def draw_rows(ax: Axes, history: History) -> None:
    """Per table, log scale: planned rows (dashed), live rows in pg_stat_user_tables (solid; VACUUM makes it an
    estimate) and the exact count(*) at the latest measurement (dots)."""
    days = _days(history)
    for table in history.planned_tables():
        (line,) = ax.plot(days, history.series(table, "live"), linewidth=1.5, label=table)
        ax.plot(days, history.series(table, "planned_rows"), linestyle="--", linewidth=1, color=line.get_color())
        if table in history.counts:
            ax.plot(days[-1], history.counts[table], marker="o", markersize=4, color=line.get_color())
    ax.set_yscale("log")
    ax.set_ylabel("rows (dashed: plan, solid: n_live_tup, dot: count(*))", fontsize=8)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    _time_axis(ax, "Rows per table: achieved vs planned")


def draw_size(ax: Axes, history: History) -> None:
    """The database size against the plan and the growth table's milestones."""
    days = _days(history)
    ax.plot(days, [s.db_size for s in history.samples], linewidth=2, label="measured (pg_database_size)")
    ax.plot(days, [s.planned_size for s in history.samples], linestyle="--", linewidth=1, color="black",
            label="plan")
    for m in history.reached():
        ax.plot(m.hour / HOURS_PER_DAY, m.size, marker="D", color="crimson", markersize=6)
        ax.annotate(m.label, (m.hour / HOURS_PER_DAY, m.size), textcoords="offset points", xytext=(4, -10),
                    fontsize=7, color="crimson")
    ax.plot([], [], marker="D", linestyle="", color="crimson", label="milestone")
    ax.yaxis.set_major_formatter(_SIZE_TICKS)
    ax.legend(fontsize=7, loc="upper left")
    _time_axis(ax, "Database size against the milestones")


def draw_bloat(ax: Axes, history: History) -> None:
    """pgstattuple bloat (dead + free space, % of the heap) of each hot table, with its target band.

    Hours that skipped a table's reading (its bloat could not have reached the set point) have no point.
    """
    days = _days(history)
    for table in history.hot_tables:
        read = [(d, b) for d, b in zip(days, history.series(table, "bloat_percent"), strict=True) if b is not None]
        (line,) = ax.plot([d for d, _ in read], [b for _, b in read], linewidth=1.5, label=table)
        low, high = history.bloat_bands[table]
        ax.axhspan(low, high, color=line.get_color(), alpha=0.08)
    ax.set_ylabel("bloat % (band: target)", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="lower right")
    _time_axis(ax, "Bloat of the hot tables")


def draw_dead(ax: Axes, history: History) -> None:
    """Dead tuples of each hot table; a tick on the top edge for every emulated VACUUM."""
    days = _days(history)
    for table in history.hot_tables:
        (line,) = ax.plot(days, history.series(table, "dead"), linewidth=1.5, label=table)
        vacuums = [d for d, v in zip(days, history.series(table, "vacuumed"), strict=True) if v]
        ax.plot(vacuums, [1.0] * len(vacuums), linestyle="", marker="v", color=line.get_color(),
                transform=ax.get_xaxis_transform(), clip_on=False, in_layout=False,
                label=f"VACUUM {table} ({len(vacuums)})")
    ax.set_ylabel("dead tuples (n_dead_tup)", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")
    _time_axis(ax, "Dead tuples and vacuum events")


def draw_breakdown(ax: Axes, history: History) -> None:
    """Heap, index and TOAST bytes of every table at the latest measurement."""
    latest = history.latest
    tables = list(reversed(history.tables()))
    left = [0] * len(tables)
    for key, label in _KINDS:
        widths = [getattr(latest.tables[t], key) for t in tables]
        ax.barh(tables, widths, left=left, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.xaxis.set_major_formatter(_SIZE_TICKS)
    ax.set_title(f"Size per table at hour {latest.hour} (week {latest.hour / 168:.2f})", fontsize=10)
    ax.tick_params(labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


PANELS: dict[str, Callable[[Axes, History], None]] = {
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
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    PANELS[name](fig.add_subplot(), history)
    return fig


def growth_figure(history: History) -> Figure:
    """All panels on one page: rows, size, bloat, dead tuples, and the size breakdown across the bottom."""
    _require_samples(history)
    fig = Figure(figsize=(13, 11), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[1, 1, 1.1])
    for (row, col), name in zip([(0, 0), (0, 1), (1, 0), (1, 1)], ["rows", "size", "bloat", "dead"], strict=True):
        PANELS[name](fig.add_subplot(grid[row, col]), history)
    draw_breakdown(fig.add_subplot(grid[2, :]), history)
    fig.suptitle(f"growth-sim: {history.describe()}", fontsize=11)
    return fig


def save_growth_figure(history: History, path: str | Path, *, dpi: int = 80) -> Path:
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
