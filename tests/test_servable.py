"""The first date each model can serve: what the up-front check refuses, the models confirm."""

from __future__ import annotations

import datetime as dt

import pytest

from forecast_core.cadence import Cadence
from forecast_core.errors import ConfigError, DataError
from forecast_core.models import build_model
from forecast_core.names import MODELS
from forecast_core.servable import check_enough_history, first_servable_date

SEMIANNUAL = Cadence("semiannually")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_fits_at_its_first_servable_slot_and_not_at_the_slot_before(name, coffee_history):
    first = first_servable_date(coffee_history, SEMIANNUAL, name)
    assert first is not None and first == SEMIANNUAL.training_date_for(first)
    build_model(name).fit(coffee_history, first)
    earlier = SEMIANNUAL.training_date_for(first - dt.timedelta(days=1))
    with pytest.raises(DataError, match="needs at least"):
        build_model(name).fit(coffee_history, earlier)


def test_the_first_servable_date_follows_the_cadence(coffee_history):
    assert first_servable_date(coffee_history, SEMIANNUAL, "naive") == dt.date(2012, 7, 1)
    # 30 trading days from 2012-01-03: the 30th is 2012-02-14, served from the next day.
    assert first_servable_date(coffee_history, Cadence("daily"), "naive") == dt.date(2012, 2, 15)


def test_a_history_shorter_than_a_model_needs_never_serves(coffee_history):
    short = coffee_history.as_of(dt.date(2012, 3, 1))
    assert first_servable_date(short, SEMIANNUAL, "xgboost") is None
    with pytest.raises(
        ConfigError, match="xgboost never, 40 trading days held\\); expected more history"
    ):
        check_enough_history(short, SEMIANNUAL, ("xgboost",), dt.date(2012, 2, 20))


def test_a_date_every_model_can_serve_passes(coffee_history):
    check_enough_history(coffee_history, SEMIANNUAL, tuple(MODELS), dt.date(2013, 1, 1))
