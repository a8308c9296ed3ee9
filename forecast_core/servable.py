"""Which forecast dates the data can serve: refused before a run (or a served model) writes.

``check_forecast_range``: a date after the first price, not after today, and not too long
after the newest price. ``check_enough_history``: a date D is served by the model trained
at the cadence slot on or before D, fitted on the rows strictly before that slot; a model
needs ``min_history`` such rows, so the first date a model can serve is the first slot
after its ``min_history``-th trading day. Both run before anything is written, so a date
the data cannot serve is refused in one line instead of failing every model after writing
actuals and an MLflow store.
"""

from __future__ import annotations

import datetime as dt

from forecast_core.cadence import Cadence
from forecast_core.data.history import MarketHistory
from forecast_core.errors import ConfigError, DataError
from forecast_core.models.registry import get_model_class


def check_forecast_range(
    history: MarketHistory, first: dt.date, last: dt.date, today: dt.date, max_staleness_days: int
) -> None:
    """Refuse forecast dates the data cannot serve, before anything is written.

    Raises:
        ConfigError: A date before the data starts or after today.
        DataError: The newest price is more than ``max_staleness_days`` before ``last``.
    """
    if first <= history.first_date:
        raise ConfigError(
            f"forecast date {first} is not after the first {history.commodity} "
            f"price ({history.first_date}); expected a later date"
        )
    if last > today:
        raise ConfigError(
            f"forecast date {last} is after today ({today}); expected a date on or before today"
        )
    stale_days = (last - history.last_date).days
    if stale_days > max_staleness_days:
        raise DataError(
            f"forecast date {last} is {stale_days} days after the newest "
            f"{history.commodity} price ({history.last_date}); expected at most "
            f"{max_staleness_days} days: update the data or pick an earlier date"
        )


def first_servable_date(
    history: MarketHistory, cadence: Cadence, model_name: str
) -> dt.date | None:
    """The first forecast date ``model_name`` can serve, or None if the data never suffices."""
    needed = get_model_class(model_name).min_history
    if len(history) < needed:
        return None
    nth_day = history.observations["date"].iloc[needed - 1].date()
    return cadence.next_training_date(nth_day)


def check_enough_history(
    history: MarketHistory, cadence: Cadence, model_names: tuple[str, ...], first: dt.date
) -> None:
    """Refuse a run whose first forecast date some model cannot serve.

    Raises:
        ConfigError: Naming every such model and the first date it can serve.
    """
    too_early = {}
    for name in model_names:
        served_from = first_servable_date(history, cadence, name)
        if served_from is None or served_from > first:
            too_early[name] = served_from
    if not too_early:
        return
    described = ", ".join(
        f"{name} from {day}" if day else f"{name} never, {len(history)} trading days held"
        for name, day in too_early.items()
    )
    latest = max((day for day in too_early.values() if day), default=None)
    expected = f"a date on or after {latest}" if latest else "more history"
    raise ConfigError(
        f"forecast date {first} has too little {history.commodity} history for "
        f"{', '.join(too_early)} ({cadence.frequency} cadence: {described}); expected "
        f"{expected}, or --models without them"
    )
