"""Tests of the training cadence: slots, retraining, windows and backfill shards."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast_core.cadence import (
    DEFAULT_ANCHOR,
    FREQUENCIES,
    Cadence,
    TrainingWindow,
    parse_frequency,
)
from forecast_core.errors import ConfigError

# A one-letter constructor keeps the date tables one case per line or two.
D = dt.date
JAN_31 = D(2001, 1, 31)
LEAP_DAY_2024 = D(2024, 2, 29)


def _window(training_date: dt.date, first: dt.date, last: dt.date) -> TrainingWindow:
    return TrainingWindow(training_date, first, last)


# -- training_date_for --------------------------------------------------------------
# The parametrize tables below hold one case per row: alike in shape by design.


@pytest.mark.parametrize(
    ("frequency", "anchor", "day", "expected_training_date"),
    [
        # Month ends: anchor Jan 31, monthly, clamps to each month's last day.
        pytest.param("monthly", JAN_31, D(2023, 2, 28), D(2023, 2, 28),
                     id="feb-28-non-leap-monthly-from-jan-31"),
        pytest.param("monthly", JAN_31, D(2023, 2, 27), D(2023, 1, 31),
                     id="day-before-feb-end-non-leap"),
        pytest.param("monthly", JAN_31, D(2024, 2, 29), D(2024, 2, 29),
                     id="leap-day-monthly-from-jan-31"),
        pytest.param("monthly", JAN_31, D(2024, 2, 28), D(2024, 1, 31),
                     id="feb-28-in-leap-year-is-not-a-slot"),
        pytest.param("monthly", JAN_31, D(2024, 3, 30), D(2024, 2, 29),
                     id="mar-30-served-by-leap-day"),
        pytest.param("monthly", JAN_31, D(2024, 3, 31), D(2024, 3, 31),
                     id="mar-31-no-drift-after-feb"),
        pytest.param("monthly", JAN_31, D(2024, 4, 30), D(2024, 4, 30), id="apr-30-clamped"),
        pytest.param("monthly", JAN_31, D(2024, 5, 30), D(2024, 4, 30),
                     id="may-30-served-by-apr-30"),
        pytest.param("monthly", JAN_31, D(2024, 12, 31), D(2024, 12, 31), id="dec-31-month-end"),
        pytest.param("monthly", DEFAULT_ANCHOR, D(2024, 2, 29), D(2024, 2, 1),
                     id="leap-day-monthly-default-anchor"),
        pytest.param("monthly", DEFAULT_ANCHOR, D(2024, 3, 1), D(2024, 3, 1),
                     id="mar-1-after-leap-day"),
        # Leap-day anchors.
        pytest.param("monthly", LEAP_DAY_2024, D(2025, 2, 28), D(2025, 2, 28),
                     id="leap-anchor-monthly-non-leap-feb"),
        pytest.param("monthly", LEAP_DAY_2024, D(2025, 3, 28), D(2025, 2, 28),
                     id="leap-anchor-monthly-mar-28"),
        pytest.param("monthly", LEAP_DAY_2024, D(2025, 3, 29), D(2025, 3, 29),
                     id="leap-anchor-monthly-mar-29"),
        pytest.param("annually", LEAP_DAY_2024, D(2025, 2, 28), D(2025, 2, 28),
                     id="leap-anchor-annual-non-leap"),
        pytest.param("annually", LEAP_DAY_2024, D(2025, 2, 27), D(2024, 2, 29),
                     id="leap-anchor-annual-day-before"),
        pytest.param("annually", LEAP_DAY_2024, D(2028, 2, 29), D(2028, 2, 29),
                     id="leap-anchor-annual-next-leap"),
        pytest.param("annually", LEAP_DAY_2024, D(2028, 2, 28), D(2027, 2, 28),
                     id="leap-anchor-annual-feb-28-leap-year"),
        # Quarter edges.
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 3, 31), D(2024, 1, 1),
                     id="quarter-last-day"),
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 4, 1), D(2024, 4, 1),
                     id="quarter-first-day"),
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 6, 30), D(2024, 4, 1), id="q2-last-day"),
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 12, 31), D(2024, 10, 1),
                     id="q4-last-day"),
        pytest.param("quarterly", JAN_31, D(2024, 4, 29), D(2024, 1, 31),
                     id="quarter-from-jan-31-apr-29"),
        pytest.param("quarterly", JAN_31, D(2024, 4, 30), D(2024, 4, 30),
                     id="quarter-from-jan-31-apr-30"),
        pytest.param("quarterly", JAN_31, D(2024, 7, 31), D(2024, 7, 31),
                     id="quarter-from-jan-31-jul-31"),
        # Half-year edges.
        pytest.param("semiannually", DEFAULT_ANCHOR, D(2024, 6, 30), D(2024, 1, 1),
                     id="half-year-last-day"),
        pytest.param("semiannually", DEFAULT_ANCHOR, D(2024, 7, 1), D(2024, 7, 1),
                     id="half-year-first-day"),
        pytest.param("semiannually", DEFAULT_ANCHOR, D(2024, 12, 31), D(2024, 7, 1),
                     id="h2-last-day"),
        pytest.param("semiannually", JAN_31, D(2024, 7, 30), D(2024, 1, 31),
                     id="half-year-from-jan-31-jul-30"),
        # Year edges.
        pytest.param("annually", DEFAULT_ANCHOR, D(2024, 12, 31), D(2024, 1, 1),
                     id="year-last-day"),
        pytest.param("annually", DEFAULT_ANCHOR, D(2025, 1, 1), D(2025, 1, 1), id="year-first-day"),
        pytest.param("monthly", DEFAULT_ANCHOR, D(2024, 12, 31), D(2024, 12, 1),
                     id="monthly-year-last-day"),
        pytest.param("weekly", DEFAULT_ANCHOR, D(2025, 1, 1), D(2024, 12, 30),
                     id="weekly-across-new-year"),
        # Weekly and biweekly on Mondays (2001-01-01 and 2024-01-01 are Mondays, 8400 days apart).
        pytest.param("weekly", DEFAULT_ANCHOR, D(2024, 1, 7), D(2024, 1, 1), id="weekly-sunday"),
        pytest.param("weekly", DEFAULT_ANCHOR, D(2024, 1, 8), D(2024, 1, 8), id="weekly-monday"),
        pytest.param("weekly", DEFAULT_ANCHOR, D(2024, 1, 10), D(2024, 1, 8),
                     id="weekly-wednesday"),
        pytest.param("biweekly", DEFAULT_ANCHOR, D(2024, 1, 8), D(2024, 1, 1),
                     id="biweekly-off-week-monday"),
        pytest.param("biweekly", DEFAULT_ANCHOR, D(2024, 1, 14), D(2024, 1, 1),
                     id="biweekly-day-before-slot"),
        pytest.param("biweekly", DEFAULT_ANCHOR, D(2024, 1, 15), D(2024, 1, 15),
                     id="biweekly-slot"),
        # Daily.
        pytest.param("daily", DEFAULT_ANCHOR, D(2024, 2, 29), D(2024, 2, 29), id="daily-leap-day"),
        pytest.param("daily", DEFAULT_ANCHOR, D(1999, 5, 17), D(1999, 5, 17),
                     id="daily-before-anchor"),
        # Before the anchor (negative step counts).
        pytest.param("weekly", DEFAULT_ANCHOR, D(2000, 12, 31), D(2000, 12, 25),
                     id="weekly-before-anchor"),
        pytest.param("biweekly", DEFAULT_ANCHOR, D(2000, 12, 31), D(2000, 12, 18),
                     id="biweekly-before-anchor"),
        pytest.param("monthly", JAN_31, D(2000, 12, 30), D(2000, 11, 30),
                     id="monthly-before-anchor-clamped"),
        pytest.param("monthly", JAN_31, D(2000, 2, 29), D(2000, 2, 29),
                     id="monthly-before-anchor-leap-day"),
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2000, 12, 31), D(2000, 10, 1),
                     id="quarterly-before-anchor"),
        pytest.param("annually", DEFAULT_ANCHOR, D(1990, 6, 15), D(1990, 1, 1),
                     id="annually-before-anchor"),
    ],
)  # fmt: skip
def test_training_date_for(
    frequency: str, anchor: dt.date, day: dt.date, expected_training_date: dt.date
) -> None:
    assert Cadence(frequency, anchor).training_date_for(day) == expected_training_date


@pytest.mark.parametrize("frequency", FREQUENCIES)
@pytest.mark.parametrize(
    "anchor", [pytest.param(DEFAULT_ANCHOR, id="jan-1"), pytest.param(JAN_31, id="jan-31")]
)
def test_training_date_for_a_slot_is_the_slot(frequency: str, anchor: dt.date) -> None:
    cadence = Cadence(frequency, anchor)
    slots = cadence.training_dates(D(2023, 11, 1), D(2025, 3, 31))
    assert slots, "the range holds at least one slot of every frequency"
    for slot in slots:
        assert cadence.training_date_for(slot) == slot
        assert cadence.training_date_for(slot - dt.timedelta(days=1)) < slot


@pytest.mark.parametrize("frequency", ["weekly", "biweekly"])
def test_weekly_slots_fall_on_mondays(frequency: str) -> None:
    slots = Cadence(frequency).training_dates(D(2023, 1, 1), D(2025, 12, 31))
    assert len(slots) > 50
    assert {slot.weekday() for slot in slots} == {calendar.MONDAY}


def test_monthly_from_jan_31_hits_every_month_end_without_drift() -> None:
    cadence = Cadence("monthly", JAN_31)
    slot = D(2023, 1, 31)
    month_ends = []
    for _ in range(24):
        slot = cadence.next_training_date(slot)
        month_ends.append(slot)
    expected = [
        D(year, month, calendar.monthrange(year, month)[1])
        for year in (2023, 2024, 2025)
        for month in range(1, 13)
    ][1:25]
    assert month_ends == expected
    assert D(2024, 2, 29) in month_ends
    assert D(2023, 2, 28) in month_ends


@given(
    frequency=st.sampled_from(FREQUENCIES),
    anchor=st.dates(min_value=D(1990, 1, 1), max_value=D(2030, 12, 31)),
    day=st.dates(min_value=D(1980, 1, 1), max_value=D(2040, 12, 31)),
)
def test_training_date_for_brackets_the_day(frequency: str, anchor: dt.date, day: dt.date) -> None:
    cadence = Cadence(frequency, anchor)
    slot = cadence.training_date_for(day)
    next_slot = cadence.next_training_date(slot)
    assert slot <= day < next_slot
    assert cadence.training_date_for(slot) == slot
    assert cadence.next_training_date(day) == next_slot


# -- next_training_date and should_retrain ------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "anchor", "last_training_date", "expected_next"),
    [
        pytest.param("monthly", JAN_31, D(2024, 1, 31), D(2024, 2, 29),
                     id="monthly-from-slot-into-leap-feb"),
        pytest.param("monthly", JAN_31, D(2024, 2, 29), D(2024, 3, 31),
                     id="monthly-from-leap-day-back-to-31"),
        pytest.param("monthly", JAN_31, D(2024, 2, 10), D(2024, 2, 29),
                     id="monthly-from-between-slots"),
        pytest.param("monthly", JAN_31, D(2024, 2, 28), D(2024, 2, 29),
                     id="monthly-from-day-before-leap-day"),
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 1, 1), D(2024, 4, 1),
                     id="quarterly-from-slot"),
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 3, 31), D(2024, 4, 1),
                     id="quarterly-from-quarter-end"),
        pytest.param("semiannually", DEFAULT_ANCHOR, D(2024, 1, 1), D(2024, 7, 1),
                     id="semiannual-from-slot"),
        pytest.param("semiannually", DEFAULT_ANCHOR, D(2024, 7, 3), D(2025, 1, 1),
                     id="semiannual-from-between"),
        pytest.param("annually", DEFAULT_ANCHOR, D(2024, 1, 1), D(2025, 1, 1),
                     id="annual-from-slot"),
        pytest.param("annually", DEFAULT_ANCHOR, D(2024, 12, 31), D(2025, 1, 1),
                     id="annual-from-year-end"),
        pytest.param("weekly", DEFAULT_ANCHOR, D(2024, 1, 1), D(2024, 1, 8), id="weekly-from-slot"),
        pytest.param("weekly", DEFAULT_ANCHOR, D(2024, 1, 3), D(2024, 1, 8),
                     id="weekly-from-between"),
        pytest.param("biweekly", DEFAULT_ANCHOR, D(2024, 1, 1), D(2024, 1, 15),
                     id="biweekly-from-slot"),
        pytest.param("biweekly", DEFAULT_ANCHOR, D(2024, 1, 8), D(2024, 1, 15),
                     id="biweekly-from-between"),
        pytest.param("daily", DEFAULT_ANCHOR, D(2024, 2, 28), D(2024, 2, 29),
                     id="daily-into-leap-day"),
        pytest.param("daily", DEFAULT_ANCHOR, D(2024, 12, 31), D(2025, 1, 1),
                     id="daily-across-year"),
    ],
)  # fmt: skip
def test_next_training_date(
    frequency: str, anchor: dt.date, last_training_date: dt.date, expected_next: dt.date
) -> None:
    assert Cadence(frequency, anchor).next_training_date(last_training_date) == expected_next


@pytest.mark.parametrize(
    ("frequency", "today", "trained", "expected"),
    [
        pytest.param("weekly", D(2024, 1, 3), (), True, id="never-trained"),
        pytest.param("weekly", D(2024, 1, 1), (D(2024, 1, 1),), False, id="trained-today"),
        pytest.param("weekly", D(2024, 1, 7), (D(2024, 1, 1),), False, id="before-next-slot"),
        pytest.param("weekly", D(2024, 1, 8), (D(2024, 1, 1),), True, id="on-next-slot"),
        pytest.param("weekly", D(2024, 1, 9), (D(2024, 1, 1),), True, id="day-after-next-slot"),
        pytest.param("weekly", D(2024, 1, 1), (D(2024, 1, 8),), True,
                     id="only-a-later-slot-trained"),
        pytest.param("weekly", D(2024, 1, 9), (D(2024, 1, 8), D(2024, 1, 9)), False,
                     id="later-slot-trained-too"),
        pytest.param("weekly", D(2024, 1, 9), (D(2024, 1, 1), D(2024, 1, 9)), True,
                     id="off-slot-model-does-not-serve-the-slot"),
        pytest.param("daily", D(2024, 1, 2), (D(2024, 1, 1),), True, id="daily-next-day"),
        pytest.param("daily", D(2024, 1, 1), (D(2024, 1, 1),), False, id="daily-same-day"),
        pytest.param("monthly", D(2024, 2, 29), (D(2024, 2, 1),), False,
                     id="monthly-leap-day-not-due"),
        pytest.param("monthly", D(2024, 3, 1), (D(2024, 2, 1),), True, id="monthly-due-on-first"),
        pytest.param("semiannually", D(2024, 6, 30), (D(2024, 1, 1),), False,
                     id="semiannual-half-year-end"),
        pytest.param("semiannually", D(2024, 7, 3), (D(2024, 1, 1),), True,
                     id="semiannual-missed-slot-late"),
        pytest.param("annually", D(2026, 3, 1), (D(2024, 1, 1),), True,
                     id="annual-two-slots-missed"),
    ],
)  # fmt: skip
def test_should_retrain(
    frequency: str, today: dt.date, trained: tuple[dt.date, ...], expected: bool
) -> None:
    assert Cadence(frequency).should_retrain(today, trained) is expected


def test_job_running_late_trains_for_the_missed_slot() -> None:
    cadence = Cadence("semiannually")
    today = D(2024, 7, 3)
    assert cadence.should_retrain(today, {D(2024, 1, 1)})
    assert cadence.training_date_for(today) == D(2024, 7, 1)
    # Once the missed slot is trained, the job is quiet until the next one.
    trained = {D(2024, 1, 1), D(2024, 7, 1)}
    assert not cadence.should_retrain(today, trained)
    assert not cadence.should_retrain(D(2024, 12, 31), trained)
    assert cadence.should_retrain(D(2025, 1, 1), trained)


# -- training_dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "anchor", "start", "end", "expected"),
    [
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 1, 1), D(2024, 12, 31),
                     [D(2024, 1, 1), D(2024, 4, 1), D(2024, 7, 1), D(2024, 10, 1)],
                     id="quarters-of-a-year"),
        pytest.param("quarterly", DEFAULT_ANCHOR, D(2024, 1, 2), D(2024, 10, 1),
                     [D(2024, 4, 1), D(2024, 7, 1), D(2024, 10, 1)],
                     id="start-after-slot-end-on-slot"),
        pytest.param("monthly", JAN_31, D(2023, 12, 15), D(2024, 4, 29),
                     [D(2023, 12, 31), D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)],
                     id="month-ends-over-leap-feb"),
        pytest.param("semiannually", DEFAULT_ANCHOR, D(2023, 7, 1), D(2024, 7, 1),
                     [D(2023, 7, 1), D(2024, 1, 1), D(2024, 7, 1)], id="half-years-inclusive-ends"),
        pytest.param("annually", DEFAULT_ANCHOR, D(2024, 1, 2), D(2024, 12, 31), [],
                     id="no-slot-in-range"),
        pytest.param("weekly", DEFAULT_ANCHOR, D(2024, 1, 1), D(2024, 1, 1), [D(2024, 1, 1)],
                     id="single-day-on-slot"),
        pytest.param("weekly", DEFAULT_ANCHOR, D(2024, 1, 2), D(2024, 1, 2), [],
                     id="single-day-off-slot"),
        pytest.param("biweekly", DEFAULT_ANCHOR, D(2024, 1, 1), D(2024, 2, 1),
                     [D(2024, 1, 1), D(2024, 1, 15), D(2024, 1, 29)], id="biweekly-mondays"),
        pytest.param("daily", DEFAULT_ANCHOR, D(2024, 2, 27), D(2024, 3, 1),
                     [D(2024, 2, 27), D(2024, 2, 28), D(2024, 2, 29), D(2024, 3, 1)],
                     id="daily-over-leap-day"),
    ],
)  # fmt: skip
def test_training_dates(
    frequency: str, anchor: dt.date, start: dt.date, end: dt.date, expected: list[dt.date]
) -> None:
    assert Cadence(frequency, anchor).training_dates(start, end) == expected


# -- windows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "start", "end", "expected"),
    [
        pytest.param("quarterly", D(2024, 2, 15), D(2024, 7, 10), [
            _window(D(2024, 1, 1), D(2024, 2, 15), D(2024, 3, 31)),
            _window(D(2024, 4, 1), D(2024, 4, 1), D(2024, 6, 30)),
            _window(D(2024, 7, 1), D(2024, 7, 1), D(2024, 7, 10)),
        ], id="start-inside-a-window"),
        pytest.param("quarterly", D(2024, 4, 1), D(2024, 9, 30), [
            _window(D(2024, 4, 1), D(2024, 4, 1), D(2024, 6, 30)),
            _window(D(2024, 7, 1), D(2024, 7, 1), D(2024, 9, 30)),
        ], id="start-on-a-slot-end-before-next-slot"),
        pytest.param("monthly", D(2024, 3, 5), D(2024, 3, 20), [
            _window(D(2024, 3, 1), D(2024, 3, 5), D(2024, 3, 20)),
        ], id="range-inside-one-window"),
        pytest.param("weekly", D(2024, 1, 10), D(2024, 1, 10), [
            _window(D(2024, 1, 8), D(2024, 1, 10), D(2024, 1, 10)),
        ], id="single-day-range"),
        pytest.param("weekly", D(2024, 1, 8), D(2024, 1, 8), [
            _window(D(2024, 1, 8), D(2024, 1, 8), D(2024, 1, 8)),
        ], id="single-day-range-on-slot"),
        pytest.param("daily", D(2024, 2, 28), D(2024, 3, 1), [
            _window(D(2024, 2, 28), D(2024, 2, 28), D(2024, 2, 28)),
            _window(D(2024, 2, 29), D(2024, 2, 29), D(2024, 2, 29)),
            _window(D(2024, 3, 1), D(2024, 3, 1), D(2024, 3, 1)),
        ], id="daily-one-window-per-day"),
        pytest.param("semiannually", D(2023, 12, 31), D(2024, 1, 1), [
            _window(D(2023, 7, 1), D(2023, 12, 31), D(2023, 12, 31)),
            _window(D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 1)),
        ], id="two-day-range-across-half-year-edge"),
    ],
)  # fmt: skip
def test_windows(
    frequency: str, start: dt.date, end: dt.date, expected: list[TrainingWindow]
) -> None:
    assert Cadence(frequency).windows(start, end) == expected


def test_windows_with_month_end_anchor_over_leap_february() -> None:
    windows = Cadence("monthly", JAN_31).windows(D(2024, 2, 1), D(2024, 3, 31))
    assert windows == [
        _window(D(2024, 1, 31), D(2024, 2, 1), D(2024, 2, 28)),
        _window(D(2024, 2, 29), D(2024, 2, 29), D(2024, 3, 30)),
        _window(D(2024, 3, 31), D(2024, 3, 31), D(2024, 3, 31)),
    ]
    assert [window.n_forecast_dates for window in windows] == [28, 31, 1]


@given(
    frequency=st.sampled_from(FREQUENCIES),
    anchor=st.dates(min_value=D(1995, 1, 1), max_value=D(2030, 12, 31)),
    start=st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 12, 31)),
    length_days=st.integers(min_value=0, max_value=800),
)
def test_windows_cover_the_range_exactly_once(
    frequency: str, anchor: dt.date, start: dt.date, length_days: int
) -> None:
    cadence = Cadence(frequency, anchor)
    end = start + dt.timedelta(days=length_days)
    windows = cadence.windows(start, end)

    forecast_dates = [day for window in windows for day in window.forecast_dates]
    expected_dates = [start + dt.timedelta(days=offset) for offset in range(length_days + 1)]
    # In order with no gap and no overlap: exactly the days of [start, end].
    assert forecast_dates == expected_dates
    assert sum(window.n_forecast_dates for window in windows) == length_days + 1
    for window in windows:
        # Each window is served by the slot of its days, which is never after them.
        assert cadence.training_date_for(window.first_forecast_date) == window.training_date
        assert cadence.training_date_for(window.last_forecast_date) == window.training_date
    assert [window.training_date for window in windows] == sorted(
        {cadence.training_date_for(start), *cadence.training_dates(start, end)}
    )


# -- shards -------------------------------------------------------------------------


# -- validation and errors ----------------------------------------------------------


def test_unknown_frequency_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as raised:
        Cadence("fortnightly")
    message = str(raised.value)
    assert "'fortnightly'" in message
    assert message.endswith(", ".join(FREQUENCIES))
    for frequency in FREQUENCIES:
        assert frequency in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("weekly", "weekly", id="canonical"),
        pytest.param("Weekly", "weekly", id="capitalised"),
        pytest.param("SEMIANNUALLY", "semiannually", id="upper-case"),
        pytest.param("  Quarterly\n", "quarterly", id="surrounding-blanks"),
    ],
)
def test_parse_frequency_normalises(text: str, expected: str) -> None:
    assert parse_frequency(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("fortnightly", id="unknown-name"),
        pytest.param("", id="empty"),
        pytest.param("bi-weekly", id="hyphenated"),
        pytest.param(7, id="not-a-string"),
    ],
)
def test_parse_frequency_rejects_unknown_names(text: object) -> None:
    with pytest.raises(ConfigError, match=rf"{text!r}.*daily, weekly, biweekly, monthly"):
        parse_frequency(text)  # type: ignore[arg-type]


def test_cadence_requires_the_canonical_name() -> None:
    with pytest.raises(ConfigError, match="'Weekly' is not one of"):
        Cadence("Weekly")
    assert Cadence(parse_frequency("Weekly")) == Cadence("weekly")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.training_dates(D(2024, 2, 1), D(2024, 1, 31)),
                     id="training-dates"),
        pytest.param(lambda c: c.windows(D(2024, 2, 1), D(2024, 1, 31)), id="windows"),
    ],
)  # fmt: skip
def test_start_after_end_is_rejected(call: Callable[[Cadence], object]) -> None:
    with pytest.raises(ConfigError, match="start 2024-02-01 is after end 2024-01-31"):
        call(Cadence("monthly"))


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.training_date_for(dt.datetime(2024, 1, 1)), id="datetime-day"),
        pytest.param(lambda c: c.training_date_for("2024-01-01"), id="string-day"),
        pytest.param(lambda c: c.should_retrain("2024-01-01", ()), id="string-today"),
        pytest.param(lambda c: c.windows(D(2024, 1, 1), "2024-02-01"), id="string-end"),
        pytest.param(lambda c: Cadence("weekly", anchor=dt.datetime(2001, 1, 1)),
                     id="datetime-anchor"),
    ],
)  # fmt: skip
def test_non_date_arguments_are_rejected(call: Callable[[Cadence], object]) -> None:
    with pytest.raises(ConfigError, match=r"is not a datetime\.date"):
        call(Cadence("weekly"))


def test_training_window_rejects_unordered_dates() -> None:
    with pytest.raises(ConfigError, match="not ordered"):
        TrainingWindow(D(2024, 1, 8), D(2024, 1, 7), D(2024, 1, 10))
    with pytest.raises(ConfigError, match="not ordered"):
        TrainingWindow(D(2024, 1, 1), D(2024, 1, 10), D(2024, 1, 9))


def test_training_window_forecast_dates_span_leap_day() -> None:
    window = TrainingWindow(D(2024, 2, 1), D(2024, 2, 27), D(2024, 3, 2))
    assert window.forecast_dates == [
        D(2024, 2, 27),
        D(2024, 2, 28),
        D(2024, 2, 29),
        D(2024, 3, 1),
        D(2024, 3, 2),
    ]
    assert window.n_forecast_dates == 5


def test_slots_outside_the_calendar_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="outside the calendar"):
        Cadence("annually").next_training_date(D(9999, 6, 1))
    # The last window of a range ending at the calendar's end needs no later slot.
    assert Cadence("annually").windows(D(9999, 6, 1), D(9999, 12, 31)) == [
        _window(D(9999, 1, 1), D(9999, 6, 1), D(9999, 12, 31))
    ]
