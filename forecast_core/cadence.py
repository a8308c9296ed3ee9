"""The training cadence: which dates models are trained for, as pure functions of dates.

A ``Cadence`` is a frequency plus an anchor date. Its training dates ("slots") are the
anchor plus a whole number of steps, before or after the anchor:

* day-based frequencies (``daily`` 1 day, ``weekly`` 7, ``biweekly`` 14) step in days, so
  with the default anchor (Monday 2001-01-01) weekly and biweekly slots fall on Mondays;
* month-based frequencies (``monthly`` 1, ``quarterly`` 3, ``semiannually`` 6,
  ``annually`` 12 months) step in months counted from the anchor every time, with the day
  of month clamped to the month's last day: anchor Jan 31 monthly gives Feb 28 (Feb 29 in
  leap years), Mar 31, Apr 30, ... and never drifts to the 28th.

Because every slot is computed from the anchor, the calendar is the same whether a backfill
over a range or the daily job asks. The slot that serves a forecast for day D is the latest
slot on or before D; the model for a slot is trained on data strictly before it (the
history's ``as_of(training_date)``), which is not decided here.

A job that misses a slot catches up: with a semiannual cadence last trained on 2024-01-01,
a run on 2024-07-03 must retrain (``should_retrain`` is true: slot 2024-07-01 has no model)
and trains for the missed slot ``training_date_for(2024-07-03) == 2024-07-01``, on data
before 2024-07-01.

Nothing here reads the clock: ``today`` is always an argument (``jobs/`` reads the clock).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from forecast_core.errors import ConfigError
from forecast_core.names import FREQUENCIES

# A Monday and a January 1, so weekly slots fall on Mondays and month-based slots on
# calendar month, quarter, half-year and year starts.
DEFAULT_ANCHOR = dt.date(2001, 1, 1)

_STEP_DAYS: dict[str, int] = {"daily": 1, "weekly": 7, "biweekly": 14}
_STEP_MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "semiannually": 6, "annually": 12}


def parse_frequency(text: str) -> str:
    """Normalise a user-given training frequency to its canonical name.

    Args:
        text: The frequency as typed, in any case and with surrounding blanks (``" Weekly"``).

    Returns:
        The canonical lower-case name, one of ``FREQUENCIES``.

    Raises:
        ConfigError: If ``text`` is not a string or names no known frequency; the message
            lists the valid names.
    """
    if not isinstance(text, str):
        raise ConfigError(
            f"training frequency {text!r} is not a string; expected one of {', '.join(FREQUENCIES)}"
        )
    frequency = text.strip().lower()
    _check_frequency(frequency, shown=text)
    return frequency


@dataclass(frozen=True)
class TrainingWindow:
    """The forecast dates of a range that one training date's model serves.

    Attributes:
        training_date: The slot whose model serves the window; before ``first_forecast_date``
            when the range starts between two slots.
        first_forecast_date: The first day forecast, ``max(training_date, start)``.
        last_forecast_date: The last day forecast, ``min(next training date - 1 day, end)``.

    Raises:
        ConfigError: On construction, if a field is not a date or the dates are not ordered
            ``training_date <= first_forecast_date <= last_forecast_date``.
    """

    training_date: dt.date
    first_forecast_date: dt.date
    last_forecast_date: dt.date

    def __post_init__(self) -> None:
        _check_date("training_date", self.training_date)
        _check_date("first_forecast_date", self.first_forecast_date)
        _check_date("last_forecast_date", self.last_forecast_date)
        if not self.training_date <= self.first_forecast_date <= self.last_forecast_date:
            raise ConfigError(
                f"training window dates {self.training_date}, {self.first_forecast_date}, "
                f"{self.last_forecast_date} are not ordered; expected "
                "training_date <= first_forecast_date <= last_forecast_date"
            )

    @property
    def forecast_dates(self) -> list[dt.date]:
        """Every calendar day from ``first_forecast_date`` to ``last_forecast_date`` inclusive."""
        return [
            self.first_forecast_date + dt.timedelta(days=offset)
            for offset in range(self.n_forecast_dates)
        ]

    @property
    def n_forecast_dates(self) -> int:
        """The number of calendar days in the window (at least 1)."""
        return (self.last_forecast_date - self.first_forecast_date).days + 1


@dataclass(frozen=True)
class Cadence:
    """A training frequency anchored on a date; answers every question about slots.

    Attributes:
        frequency: One of ``FREQUENCIES`` exactly; use ``parse_frequency`` for user text.
        anchor: A slot of the cadence; all other slots are whole steps before or after it.

    Raises:
        ConfigError: On construction, if ``frequency`` is unknown (the message lists the
            valid names) or ``anchor`` is not a ``datetime.date``.
    """

    frequency: str
    anchor: dt.date = DEFAULT_ANCHOR

    def __post_init__(self) -> None:
        _check_frequency(self.frequency, shown=self.frequency)
        _check_date("anchor", self.anchor)

    def training_date_for(self, day: dt.date) -> dt.date:
        """The slot that serves a forecast for ``day``: the latest training date on or before it.

        Args:
            day: Any date, before or after the anchor.

        Returns:
            ``day`` itself if it is a slot, else the slot before it.

        Raises:
            ConfigError: If ``day`` is not a ``datetime.date`` or its slot is outside the
                calendar (years 1 to 9999).
        """
        _check_date("day", day)
        return self._slot(self._index_on_or_before(day))

    def next_training_date(self, last_training_date: dt.date) -> dt.date:
        """The first slot strictly after ``last_training_date``.

        Args:
            last_training_date: A slot or any day between slots.

        Returns:
            The next training date.

        Raises:
            ConfigError: If the argument is not a ``datetime.date`` or the next slot is
                outside the calendar.
        """
        _check_date("last_training_date", last_training_date)
        return self._slot(self._index_on_or_before(last_training_date) + 1)

    def should_retrain(self, today: dt.date, trained: Collection[dt.date]) -> bool:
        """Whether a job running on ``today`` must train a new model: the pipeline's decision.

        Training is due when the slot serving ``today`` (``training_date_for(today)``) has no
        model. A missed slot counts: with models only for earlier slots, training is due,
        for the latest slot. A model trained on another day (another cadence) does not
        serve the slot.

        Args:
            today: The date the job runs for (never read from the clock here).
            trained: The training dates of the registered models.

        Returns:
            True if no model is trained for ``training_date_for(today)``.

        Raises:
            ConfigError: If ``today`` is not a ``datetime.date``.
        """
        return self.training_date_for(today) not in trained

    def training_dates(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Every slot in ``[start, end]``, in order.

        Args:
            start: First day of the range (inclusive).
            end: Last day of the range (inclusive).

        Returns:
            The training dates within the range; empty if no slot falls in it.

        Raises:
            ConfigError: If ``start`` is after ``end`` or either is not a ``datetime.date``.
        """
        _check_range(start, end)
        first_index = self._index_on_or_before(start)
        if self._slot(first_index) < start:
            first_index += 1
        last_index = self._index_on_or_before(end)
        return [self._slot(index) for index in range(first_index, last_index + 1)]

    def windows(self, start: dt.date, end: dt.date) -> list[TrainingWindow]:
        """The training windows that intersect ``[start, end]``, clipped to the range.

        The windows cover every day of the range exactly once, in order. A range starting
        between slots begins with the window of the slot before ``start``, so its first days
        are forecast by the model that serves them.

        Args:
            start: First forecast date of the range (inclusive).
            end: Last forecast date of the range (inclusive).

        Returns:
            One ``TrainingWindow`` per slot serving a day of the range.

        Raises:
            ConfigError: If ``start`` is after ``end``, either is not a ``datetime.date``,
                or a needed slot is outside the calendar.
        """
        _check_range(start, end)
        one_day = dt.timedelta(days=1)
        last_index = self._index_on_or_before(end)
        result: list[TrainingWindow] = []
        for index in range(self._index_on_or_before(start), last_index + 1):
            training_date = self._slot(index)
            # The last window ends at `end`, so its next slot is not built: that would fail
            # for no reason when `end` is near the end of the calendar.
            last_forecast_date = end if index == last_index else self._slot(index + 1) - one_day
            result.append(
                TrainingWindow(
                    training_date=training_date,
                    first_forecast_date=max(training_date, start),
                    last_forecast_date=last_forecast_date,
                )
            )
        return result

    # -- slot arithmetic: slot k is the anchor plus k steps ---------------------------

    def _slot(self, index: int) -> dt.date:
        """The slot ``index`` steps from the anchor (negative before it)."""
        try:
            if self.frequency in _STEP_DAYS:
                return self.anchor + dt.timedelta(days=index * _STEP_DAYS[self.frequency])
            return _add_months(self.anchor, index * _STEP_MONTHS[self.frequency])
        except (OverflowError, ValueError) as error:
            raise ConfigError(
                f"{self.frequency} training date {index} steps from anchor {self.anchor} is "
                "outside the calendar; expected dates in years 1 to 9999"
            ) from error

    def _index_on_or_before(self, day: dt.date) -> int:
        """The index of the latest slot on or before ``day``."""
        if self.frequency in _STEP_DAYS:
            # Floor division rounds toward minus infinity, so days before the anchor work too.
            return (day - self.anchor).days // _STEP_DAYS[self.frequency]
        step_months = _STEP_MONTHS[self.frequency]
        months_from_anchor = _month_number(day) - _month_number(self.anchor)
        index = months_from_anchor // step_months
        # The slot in (or before) day's month can still be later in that month than `day`
        # (anchor Jan 31, day Mar 15): then the serving slot is the one before.
        if self._slot(index) > day:
            index -= 1
        return index


def _check_frequency(frequency: str, shown: object) -> None:
    if frequency not in FREQUENCIES:
        raise ConfigError(f"training frequency {shown!r} is not one of {', '.join(FREQUENCIES)}")


def _check_date(name: str, value: object) -> None:
    # datetime.datetime is a subclass of date, but mixing it with dates breaks comparisons
    # and arithmetic, so it is refused here rather than deep inside a calculation.
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ConfigError(f"{name} {value!r} is not a datetime.date; expected e.g. 2024-01-31")


def _check_range(start: dt.date, end: dt.date) -> None:
    _check_date("start", start)
    _check_date("end", end)
    if start > end:
        raise ConfigError(f"start {start} is after end {end}; expected start <= end")


def _month_number(day: dt.date) -> int:
    """Months since year 0, so month differences are plain subtraction."""
    return day.year * 12 + day.month - 1


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` months, the day of month clamped to the month's last day.

    Raises:
        ValueError: If the result is outside years 1 to 9999.
    """
    year, month_zero_based = divmod(_month_number(day) + months, 12)
    month = month_zero_based + 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise ValueError(f"year {year} is outside the calendar")
    last_day = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last_day))
