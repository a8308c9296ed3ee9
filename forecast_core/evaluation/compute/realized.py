"""What happened over a forecast's horizon, from prices after its data cutoff only.

The project's calendar rule (``forecast_core.forecasts.realized_prices``): horizon day
k's value is the last close on or before ``forecast_date + k - 1``. Here it is applied to
the rows strictly after the forecast's data cutoff, so nothing the model already knew is
scored as an outcome. A horizon day before the first new price (a Saturday or Sunday
forecast, a holiday right after the cutoff) has no outcome yet: the known price would be
repeated, which every model forecasts exactly, so it is left unscored (NaN).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from forecast_core.data.history import MarketHistory
from forecast_core.errors import DataError
from forecast_core.names import HORIZON_DAYS


def horizon_last_day(forecast_date: dt.date) -> dt.date:
    """The calendar day of horizon day 14 (``HORIZON_DAYS``) of ``forecast_date``."""
    return forecast_date + dt.timedelta(days=HORIZON_DAYS - 1)


def is_realized(history: MarketHistory, forecast_date: dt.date) -> bool:
    """True once the data holds a price on or after the horizon's last day."""
    return len(history) > 0 and history.last_date >= horizon_last_day(forecast_date)


def realized_after_cutoff(
    history: MarketHistory, forecast_date: dt.date, data_cutoff: dt.date
) -> np.ndarray | None:
    """Horizon-day outcomes of one forecast, read from prices after ``data_cutoff`` only.

    Args:
        history: The commodity's price history (all of it; only rows after the cutoff are read).
        forecast_date: Day 1 of the forecast.
        data_cutoff: The last trading day the forecast saw.

    Returns:
        ``HORIZON_DAYS`` closes, NaN for days before the first price after the cutoff; None
        while the horizon is not fully realized.

    Raises:
        DataError: ``data_cutoff`` is not before ``forecast_date``, or a row read as an
            outcome is not after the cutoff (the guard against scoring known prices).
    """
    if data_cutoff >= forecast_date:
        raise DataError(
            f"data cutoff {data_cutoff} of the {history.commodity} forecast for "
            f"{forecast_date} is not before it; expected a cutoff before day 1"
        )
    if not is_realized(history, forecast_date):
        return None
    after = history.rows_after(data_cutoff)
    dates = after.observations["date"].to_numpy()
    check_after_cutoff(dates, data_cutoff, forecast_date)
    horizon_days = (
        np.arange(HORIZON_DAYS).astype("timedelta64[D]") + np.datetime64(forecast_date, "D")
    ).astype("datetime64[ns]")
    positions = np.searchsorted(dates, horizon_days, side="right") - 1
    closes = after.closes
    realized = np.full(HORIZON_DAYS, np.nan)
    has_price = positions >= 0
    realized[has_price] = closes[positions[has_price]]
    return realized


def check_after_cutoff(dates: np.ndarray, data_cutoff: dt.date, forecast_date: dt.date) -> None:
    """Refuse to score any outcome dated on or before the forecast's data cutoff.

    Raises:
        DataError: The first date is on or before ``data_cutoff``.
    """
    if len(dates) and dates[0] <= np.datetime64(data_cutoff, "ns"):
        first = np.datetime_as_string(dates[0], unit="D")
        raise DataError(
            f"outcome dated {first} for the forecast of {forecast_date} is not after "
            f"its data cutoff {data_cutoff}; expected only later prices"
        )


def last_known_price(history: MarketHistory, data_cutoff: dt.date) -> float | None:
    """The close on ``data_cutoff`` (the reference for direction), or None if the data lacks it.

    This is the one price on the cutoff that evaluation reads: the forecast knew it, and a
    change in direction is measured from it. It is never scored as an outcome.
    """
    known = history.as_of(data_cutoff + dt.timedelta(days=1))
    if len(known) == 0 or known.last_date != data_cutoff:
        return None
    return known.last_close
