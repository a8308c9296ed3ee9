"""Scoring a span without Spark: what is left out, what is read, skill, and the metric rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast_core.data.history import MarketHistory
from forecast_core.errors import ConfigError, DataError
from forecast_core.evaluation.compute.aggregate import METRICS, aggregate_metrics
from forecast_core.evaluation.compute.scoring import Outcome, score_forecast
from forecast_core.evaluation.runner import EvaluationConfig, score_span
from forecast_core.evaluation.storage.table import FORECAST_METRICS_SCHEMA, metrics_rows
from tests.evaluation.synthetic import (
    InMemoryForecasts,
    cutoff_of,
    normal_paths,
    weekday_history,
)

HISTORY = weekday_history()
# Weekdays, a Saturday and a Sunday; all realized by 2024-03-29.
SCORED_DATES = [dt.date(2024, 2, d) for d in (5, 6, 7, 8, 9, 10, 11, 12)]
MODELS = ("naive", "random_walk")


def _config(**overrides: object) -> EvaluationConfig:
    settings: dict[str, object] = {
        "commodity": "coffee",
        "evaluated_from": dt.date(2024, 2, 1),
        "evaluated_to": dt.date(2024, 3, 31),
        "models": MODELS,
    }
    settings.update(overrides)
    return EvaluationConfig(**settings)  # type: ignore[arg-type]


def _forecasts(
    history: MarketHistory = HISTORY, dates: list[dt.date] = SCORED_DATES
) -> InMemoryForecasts:
    forecasts = InMemoryForecasts()
    for offset, model in enumerate(MODELS):
        for day in dates:
            cutoff = cutoff_of(history, day)
            center = float(history.as_of(day).last_close)
            forecasts.add(
                model,
                day,
                cutoff,
                normal_paths(center, 200, seed=day.toordinal() + 1000 * offset, scale=1.0 + offset),
            )
    return forecasts


def _pooled(metrics: pd.DataFrame, model: str) -> pd.DataFrame:
    """The all-days, whole-span metric rows of ``model``, indexed by metric."""
    rows = metrics[
        (metrics["model_name"] == model)
        & (metrics["horizon_day"] == 0)
        & (metrics["period"] == "all")
    ]
    return rows.set_index("metric")


def test_forecasts_not_yet_realized_are_left_out_and_counted():
    forecasts = _forecasts()
    late = [dt.date(2024, 3, 20), dt.date(2024, 3, 25)]  # horizons end after 2024-03-29
    for day in late:
        forecasts.add("naive", day, cutoff_of(HISTORY, day), normal_paths(100.0, 200, seed=1))
    forecasts.add(
        "naive",
        dt.date(2024, 2, 13),
        dt.date(2024, 2, 13),
        normal_paths(100.0, 200, seed=2),
        leakage=True,
    )
    evaluation = score_span(_config(), HISTORY, forecasts.index, forecasts.read)

    left_out = evaluation.left_out.set_index(["model_name", "reason"])["n_forecasts"]
    assert left_out[("naive", "not_realized")] == 2
    assert left_out[("naive", "leakage_flagged")] == 1
    assert left_out[("random_walk", "not_realized")] == 0
    scored_dates = set(
        evaluation.scores.loc[evaluation.scores["model_name"] == "naive", "forecast_start_date"]
    )
    assert scored_dates == set(SCORED_DATES)
    counts = _pooled(evaluation.metrics, "naive")["value"]
    assert counts["forecasts_scored"] == len(SCORED_DATES)
    assert counts["forecasts_left_out_not_realized"] == 2
    assert counts["forecasts_left_out_leakage_flagged"] == 1


def test_horizon_days_without_a_new_price_are_not_scored():
    evaluation = score_span(_config(), HISTORY, _forecasts().index, _forecasts().read)
    days = evaluation.scores.groupby("forecast_start_date")["horizon_day"].min()
    assert days[dt.date(2024, 2, 10)] == 3  # Saturday: day 3 is Monday, the first new price
    assert days[dt.date(2024, 2, 11)] == 2  # Sunday
    assert days[dt.date(2024, 2, 12)] == 1  # Monday
    per_day = evaluation.metrics[
        (evaluation.metrics["metric"] == "crps")
        & (evaluation.metrics["period"] == "all")
        & (evaluation.metrics["model_name"] == "naive")
    ]
    n_scored = per_day.set_index("horizon_day")["n_scored"]
    assert n_scored[1] == 6 and n_scored[3] == 8 and n_scored[0] == 14 * 8 - 3


def _poison(history: MarketHistory, cutoff: dt.date, *, include_cutoff: bool) -> MarketHistory:
    observations = history.observations.copy()
    before = observations["date"] < pd.Timestamp(cutoff)
    observations.loc[before, ["open", "high", "low", "close"]] = np.nan
    if include_cutoff:
        observations.loc[observations["date"] == pd.Timestamp(cutoff), "close"] = 1e6
    return MarketHistory(history.commodity, observations)


@pytest.mark.parametrize("forecast_date", SCORED_DATES[::3], ids=str)
def test_evaluation_never_reads_a_price_before_the_cutoff(forecast_date):
    """Poison every price before one forecast's cutoff: its scores do not change at all."""
    forecasts = _forecasts(dates=[forecast_date])
    clean = score_span(_config(), HISTORY, forecasts.index, forecasts.read)
    cutoff = cutoff_of(HISTORY, forecast_date)
    poisoned = score_span(
        _config(), _poison(HISTORY, cutoff, include_cutoff=False), forecasts.index, forecasts.read
    )
    pd.testing.assert_frame_equal(poisoned.scores, clean.scores)
    pd.testing.assert_frame_equal(poisoned.metrics, clean.metrics)


@pytest.mark.parametrize(
    "forecast_date",
    [dt.date(2024, 2, 6), dt.date(2024, 2, 10), dt.date(2024, 2, 11)],
    ids=["tuesday", "saturday", "sunday"],
)
def test_the_cutoff_price_is_read_only_as_the_direction_reference(forecast_date):
    forecasts = _forecasts(dates=[forecast_date])
    cutoff = cutoff_of(HISTORY, forecast_date)
    clean = score_span(_config(), HISTORY, forecasts.index, forecasts.read)
    poisoned = score_span(
        _config(), _poison(HISTORY, cutoff, include_cutoff=True), forecasts.index, forecasts.read
    )
    outcome_columns = [c for c in clean.scores.columns if c != "last_known_price"]
    pd.testing.assert_frame_equal(poisoned.scores[outcome_columns], clean.scores[outcome_columns])
    assert (poisoned.scores["last_known_price"] == 1e6).all()
    changed = set(
        clean.metrics.merge(
            poisoned.metrics, on=["model_name", "metric", "horizon_day", "period"]
        ).query("value_x != value_y")["metric"]
    )
    assert changed <= {"directional_accuracy"}


def test_skill_of_random_walk_against_itself_is_zero():
    evaluation = score_span(_config(), HISTORY, _forecasts().index, _forecasts().read)
    skill = evaluation.metrics[
        (evaluation.metrics["metric"] == "crps_skill")
        & (evaluation.metrics["model_name"] == "random_walk")
    ]
    assert len(skill) == 14 + 1 + 1  # every horizon day, all days, one month
    assert (skill["value"] == 0.0).all()


def _scores(model: str, dates: list[dt.date], error: float) -> pd.DataFrame:
    """Point forecasts missing the outcome by ``error`` on every day (CRPS = error)."""
    parts = [
        score_forecast(
            model,
            day,
            day - dt.timedelta(days=1),
            np.full((1, 14), 100.0),
            Outcome(np.full(14, 100.0 + error), 100.0),
        )
        for day in dates
    ]
    return pd.concat(parts, ignore_index=True)


def test_skill_compares_the_same_dates_only():
    common = [dt.date(2024, 2, d) for d in (5, 6)]
    scores = pd.concat(
        [
            _scores("naive", common, 1.0),
            # A date the benchmark did not forecast, where naive did badly.
            _scores("naive", [dt.date(2024, 2, 7)], 50.0),
            _scores("random_walk", common, 2.0),
        ],
        ignore_index=True,
    )
    pooled = _pooled(aggregate_metrics(scores, ["naive"], benchmark="random_walk"), "naive")
    assert pooled.loc["crps_skill", "value"] == pytest.approx(0.5)
    assert pooled.loc["crps_skill", "n_scored"] == 28
    assert pooled.loc["crps", "value"] == pytest.approx((1.0 * 28 + 50.0 * 14) / 42)
    assert set(pooled.index) == set(METRICS)


def test_no_forecast_in_the_span_is_an_error_naming_the_selection():
    forecasts = _forecasts()
    with pytest.raises(DataError, match="no coffee forecasts of xgboost"):
        score_span(_config(models=("xgboost",)), HISTORY, forecasts.index, forecasts.read)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"evaluated_from": dt.date(2024, 4, 1)}, "is after --to"),
        ({"models": ("prophet",)}, "unknown model 'prophet'"),
        ({"fan_date": dt.date(2023, 1, 1)}, "outside the evaluated span"),
    ],
    ids=["from-after-to", "unknown-model", "fan-date-outside"],
)
def test_bad_configs_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        _config(**overrides)


def test_fan_chart_defaults_to_the_newest_date_every_model_scored():
    evaluation = score_span(_config(), HISTORY, _forecasts().index, _forecasts().read)
    assert evaluation.fan is not None
    assert evaluation.fan.forecast_date == max(SCORED_DATES)
    assert set(evaluation.fan.paths) == set(MODELS)
    assert evaluation.fan.recent["date"].max() < pd.Timestamp(max(SCORED_DATES))
    chosen = score_span(
        _config(fan_date=dt.date(2024, 2, 6)), HISTORY, _forecasts().index, _forecasts().read
    )
    assert chosen.fan is not None and chosen.fan.forecast_date == dt.date(2024, 2, 6)


def test_metric_rows_follow_the_table_schema_and_drop_missing_values():
    evaluation = score_span(_config(), HISTORY, _forecasts().index, _forecasts().read)
    metrics = evaluation.metrics.copy()
    metrics.loc[0, "value"] = np.nan
    rows = metrics_rows(
        metrics,
        "coffee",
        "v1.0",
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 31),
        dt.datetime(2024, 4, 1, 6, 0, tzinfo=dt.UTC),
        "run-1",
    )
    assert list(rows.columns) == FORECAST_METRICS_SCHEMA.fieldNames()
    assert len(rows) == len(metrics) - 1
    assert rows["evaluated_at"].iloc[0] == pd.Timestamp("2024-04-01 06:00")
    assert not rows.duplicated(["model_name", "metric", "horizon_day", "period"]).any()
