"""Sizes, durations and rates: what is understood, what is refused, and that refusing is a ValueError."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from growth_sim.timeline.quantities import format_rate, format_size, parse_duration, parse_rate, parse_size, rate_period

GIB = 2**30


@pytest.mark.parametrize(("text", "expected"), [
    ("10 GB", 10 * 10**9),
    ("10GB", 10 * 10**9),
    ("10GiB", 10 * GIB),
    ("10 gib", 10 * GIB),
    ("1.5TB", 1_500_000_000_000),
    ("1.5 TiB", int(1.5 * 2**40)),
    ("512MiB", 512 * 2**20),
    ("500 B", 500),
    ("2 KB", 2000),
    ("4k", 4096),
    (".5 GiB", GIB // 2),
    ("  7  ", 7),
    ("0 B", 0),
    (1024, 1024),
    (2.5, 2),
])
def test_sizes_understood(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", [
    "10 gigs", "", "   ", "-1GB", "1e400GB", "1e3GB", "GB", "10 G B", "10GB/s", "1,5GB", "nan GB", "inf",
    "9" * 400 + " GB", "9" * 400, True, -1, float("inf"), float("nan"), [1], {"size": 1}, None,
], ids=lambda v: repr(v)[:20])
def test_sizes_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_size_error_says_what_to_write():
    with pytest.raises(ValueError, match=r"'10 gigs' is not a size.*10 GiB"):
        parse_size("10 gigs")


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("10m", 600), ("10 min", 600), ("8h", 8 * 3600), ("3d", 3 * 86400), ("1 week", 604800),
    ("2w", 2 * 604800), ("1.5h", 5400), ("0s", 0),
])
def test_durations_understood(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", "90", "h", "-1h", "3 fortnights", "1e3s", "9" * 400 + "s", "inf h", None, 3,
], ids=lambda v: repr(v)[:20])
def test_durations_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("text", "per_second"), [
    ("10GiB/week", 10 * GIB / 604800),
    ("1.5GB/day", 1.5e9 / 86400),
    ("200MiB/h", 200 * 2**20 / 3600),
    ("500KB/s", 500_000),
    ("1 GiB / 2d", GIB / (2 * 86400)),
    ("1 GiB per week", GIB / 604800),
    ("3TB/wk", 3e12 / 604800),
    ("64MB/min", 64e6 / 60),
    ("2.5 GiB/hr", 2.5 * GIB / 3600),
    ("0.5GiB/.5h", GIB / 3600),
])
def test_rates_understood(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", [
    "10GiB", "10GiB/", "10GiB/0s", "10GiB/fortnight", "10 gigs/week", "/week", "-1GB/day", "10GiB/-1h",
    "1GB/2/3", "1GB/" + "9" * 400 + "s", "",
], ids=lambda v: repr(v)[:20])
def test_rates_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)


@pytest.mark.parametrize(("text", "names"), [
    ("10GiB/fortnight", "'fortnight' is not a period"),
    ("10 gigs/week", "'10 gigs' is not a size"),
    ("10GiB", "write a size per period"),
    ("/week", "write a size per period"),
    ("10GiB/0s", "the period must be longer than zero"),
])
def test_refused_rates_name_the_bad_part(text, names):
    with pytest.raises(ValueError) as error:
        parse_rate(text)
    message = str(error.value)
    assert message.startswith(f"{text!r} is not a rate") and names in message
    assert "10GiB/week" in message or "longer than zero" in message  # says what to write instead


@pytest.mark.parametrize(("text", "shown"), [
    ("1GiB/day", "1.0 GiB/day (1.07 GB/day)"),
    ("10GB/week", "9.3 GiB/week (10 GB/week)"),
    ("200MiB/h", "200.0 MiB/h (210 MB/h)"),
    ("500KB/s", "488.3 KiB/s (500 kB/s)"),
    ("1 GiB per 2 days", "512.0 MiB/day (537 MB/day)"),
])
def test_rates_are_shown_in_binary_and_decimal_units_per_the_period_given(text, shown):
    assert format_rate(parse_rate(text), rate_period(text)) == shown


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (10 * GIB, "10.0 GiB"), (3 * 2**40, "3.0 TiB"),
    (-GIB, "-1.0 GiB"),
])
def test_format_size(n, text):
    assert format_size(n) == text


@given(st.integers(min_value=0, max_value=2**50))
def test_format_then_parse_is_close(n):
    assert parse_size(format_size(n).replace(" ", "")) == pytest.approx(n, rel=0.06, abs=1)


# Text built from the characters the parsers care about, plus anything at all.
_PIECES = st.sampled_from([
    "1", "0", "9", ".", "e", "-", "+", " ", "/", "GiB", "GB", "k", "s", "h", "day", "week", "\n",
    "\u0661", "\u00b2", "inf", "nan", "9" * 330,
])
_TEXTS = st.one_of(st.text(), st.lists(_PIECES, max_size=8).map("".join))


@given(_TEXTS)
def test_parse_size_only_raises_value_error(text):
    try:
        n = parse_size(text)
    except ValueError:
        return
    assert isinstance(n, int) and n >= 0


@given(_TEXTS)
def test_parse_duration_only_raises_value_error(text):
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert math.isfinite(seconds) and seconds >= 0


@given(_TEXTS)
def test_parse_rate_only_raises_value_error(text):
    try:
        rate = parse_rate(text)
    except ValueError:
        return
    assert math.isfinite(rate) and rate >= 0
