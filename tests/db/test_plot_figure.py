"""The figure `growth-sim plot` draws can be read: the plan is visible over the measurements and its gap has a
panel, size axes tick on round binary values, no label leaves its panel, VACUUM markers sit on the curve (none on
the border, none lost), the bloat target bands are labelled and told apart, and text is large enough at the
default resolution. Asserted on the drawn figure of a database grown to week 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from growth_sim.observe.history import History, load_history
from growth_sim.observe.plot import growth_figure, save_growth_figure

MIN_TEXT_PIXELS = 11
"""Font height of every text at the default resolution; 11 px is the smallest comfortable on a screen."""


@pytest.fixture(scope="module")
def history(grown_week1: str) -> History:
    return load_history(grown_week1)


@pytest.fixture(scope="module")
def figure(history: History) -> Figure:
    fig = growth_figure(history)
    FigureCanvasAgg(fig).draw()
    return fig


def _axes(fig: Figure, title_start: str) -> Axes:
    (ax,) = [a for a in fig.get_axes() if a.get_title().startswith(title_start)]
    return ax


def _gap_axes(fig: Figure, main: Axes) -> Axes:
    """The panel that shares `main`'s time axis below it."""
    (gap,) = [a for a in fig.get_axes() if a is not main and a.get_shared_x_axes().joined(a, main)]
    return gap


def _hollow_markers(ax: Axes) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if ln.get_linestyle() == "None" and ln.get_marker() == "o"
            and ln.get_markerfacecolor() == "none" and len(ln.get_xdata())]


def _days(history: History) -> list[float]:
    return [h / 24 for h in history.hours]


def test_the_plan_is_drawn_over_the_measurements_and_its_gap_below(figure: Figure, history: History):
    rows = _axes(figure, "Rows per table")
    plans = _hollow_markers(rows)
    assert len(plans) == len(history.planned_tables())
    days = _days(history)
    for table, line in zip(history.planned_tables(), plans, strict=True):
        planned = history.series(table, "planned_rows")
        at = [days.index(d) for d in line.get_xdata()]
        assert list(line.get_ydata()) == [planned[i] for i in at]
        assert 12 <= len(at) <= 50 and at[-1] == len(days) - 1  # spaced along the run, the end included
        assert line.get_zorder() > max(ln.get_zorder() for ln in rows.get_lines() if len(ln.get_xdata()) == len(days))
    gap = _gap_axes(figure, rows)
    assert gap.bbox.height < 0.4 * rows.bbox.height and gap.bbox.y1 <= rows.bbox.y0
    issues_gap = [ln for ln in gap.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) == len(days)]
    live, planned = history.series("issues", "live"), history.series("issues", "planned_rows")
    expected = [(lv - p) / p * 100 for lv, p in zip(live, planned, strict=True)]
    assert any(list(ln.get_ydata()) == pytest.approx(expected) for ln in issues_gap)

    size = _axes(figure, "Database size")
    (plan,) = _hollow_markers(size)
    at = [days.index(d) for d in plan.get_xdata()]
    assert list(plan.get_ydata()) == [history.samples[i].planned_size for i in at]
    size_gap = _gap_axes(figure, size)
    (curve,) = [ln for ln in size_gap.get_lines() if len(ln.get_xdata()) == len(days)]
    assert list(curve.get_ydata()) == pytest.approx(
        [(s.db_size - s.planned_size) / s.planned_size * 100 for s in history.samples])


def test_size_axes_tick_on_round_binary_values(figure: Figure):
    for axis in (_axes(figure, "Database size").yaxis, _axes(figure, "Size per table").xaxis):
        low, high = sorted(axis.get_view_interval())
        ticks = [t for t in axis.get_majorticklocs() if low <= t <= high]
        assert len(ticks) >= 3
        step = int(ticks[1] - ticks[0])
        assert step >= 1024 and step & (step - 1) == 0, step  # a power of two bytes: 64 MiB, 128 MiB...
        assert all(t == int(t) and int(t) % step == 0 for t in ticks), ticks
        labels = [t.get_text() for t in axis.get_ticklabels() if low <= t.get_position()[axis.axis_name == "y"] <= high]
        assert all(re.fullmatch(r"0|\d+(\.\d+)? [KMG]iB", label) for label in labels), labels


def test_no_label_leaves_its_panel_or_the_figure(figure: Figure, history: History):
    size = _axes(figure, "Database size")
    milestones = [t for t in size.texts if t.get_text() in {m.label for m in history.reached()}]
    assert sorted(t.get_text() for t in milestones) == sorted(m.label for m in history.reached())
    assert {m.label for m in history.reached()} >= {"initial", "week-1"}  # the first and the last point
    renderer = figure.canvas.get_renderer()
    for text in milestones:
        assert _inside(text.get_window_extent(renderer), size.bbox), text.get_text()
    for ax in figure.get_axes():  # everything drawn on a panel: ticks, titles, legends, annotations
        assert _inside(ax.get_tightbbox(renderer), figure.bbox), ax.get_title()
    assert _inside(figure._suptitle.get_window_extent(renderer), figure.bbox)


def test_vacuum_markers_sit_on_the_curve_none_on_the_border_none_lost(figure: Figure, history: History):
    dead = _axes(figure, "Dead tuples")
    markers = [ln for ln in dead.get_lines() if ln.get_marker() == "v" and len(ln.get_xdata())]
    counts = {t.get_text() for t in dead.texts}
    events = sum(sum(1 for v in history.series(t, "vacuumed") if v) for t in history.hot_tables)
    assert events >= 2 and markers
    top = dead.get_ylim()[1]
    for line in markers:
        assert line.get_transform() == dead.transData  # data coordinates, not the axis' edge
        (x,), (y,) = line.get_xdata(), line.get_ydata()
        assert 0 < y < top
        px, py = dead.transData.transform((x, y))
        assert dead.bbox.y0 < py < dead.bbox.y1 - 5 and dead.bbox.x0 <= px <= dead.bbox.x1
    shown = sum(int(c[:-1]) for c in counts if re.fullmatch(r"\d+x", c)) + sum(
        1 for line in markers if not any(t.xy == (line.get_xdata()[0], line.get_ydata()[0]) for t in dead.texts))
    assert shown == events


def test_bloat_target_bands_are_labelled_and_told_apart(figure: Figure, history: History):
    bloat = _axes(figure, "Bloat")
    legend = [t.get_text() for t in bloat.get_legend().get_texts()]
    bands = {p.get_label(): p for p in bloat.patches}
    hatches = set()
    for table in history.hot_tables:
        low, high = history.bloat_bands[table]
        label = f"{table} target {low:g}-{high:g} %"
        assert label in legend and label in bands
        band = bands[label]
        ys = band.get_patch_transform().transform(band.get_path().vertices)[:, 1]
        assert (min(ys), max(ys)) == (low, high)
        hatches.add(band.get_hatch())
        edges = {ln.get_ydata()[0] for ln in bloat.get_lines()
                 if ln.get_linestyle() == "--" and to_rgb(ln.get_color()) == to_rgb(band.get_edgecolor())}
        assert {low, high} <= edges
    assert len(hatches) == len(history.hot_tables)


def test_text_is_readable_at_the_default_resolution(history: History, tmp_path: Path):
    path = save_growth_figure(history, tmp_path / "g.png")
    fig = growth_figure(history)
    dpi = save_growth_figure.__kwdefaults__["dpi"]
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
    assert min(sizes) * dpi / 72 >= MIN_TEXT_PIXELS, min(sizes)
    width, height = fig.get_size_inches() * dpi
    assert path.read_bytes()[16:24] == int(width).to_bytes(4, "big") + int(height).to_bytes(4, "big")


def _inside(box, outer, slack: float = 1.0) -> bool:
    return (box.x0 >= outer.x0 - slack and box.x1 <= outer.x1 + slack
            and box.y0 >= outer.y0 - slack and box.y1 <= outer.y1 + slack)
