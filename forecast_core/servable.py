"""The first forecast date each model can serve, from the history and the cadence alone.

A date D is served by the model trained at the cadence slot on or before D, fitted on the
rows strictly before that slot; a model needs ``min_history`` such rows. So the first date
a model can serve is the first slot after its ``min_history``-th trading day. Checked
before a run writes anything (``check_enough_history``), so a date that is too early is
refused in one line instead of failing every model after writing actuals and an MLflow
store.
"""

from __future__ import annotations

import datetime as dt

from forecast_core.cadence import Cadence
from forecast_core.data.history import MarketHistory
from forecast_core.errors import ConfigError
from forecast_core.models.registry import get_model_class


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
