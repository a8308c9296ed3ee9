"""The metrics table and the distributions reads, through the real local Spark session."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast_core.evaluation.runner import evaluate_forecasts, score_span
from forecast_core.evaluation.storage.reading import ForecastReader
from forecast_core.evaluation.storage.table import (
    FORECAST_METRICS_SCHEMA,
    MetricsTable,
    metrics_rows,
    metrics_table_location,
)
from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.tables.distributions import DistributionsTable
from tests.evaluation.test_scoring import HISTORY, SCORED_DATES, _config, _forecasts

NOW = dt.datetime(2024, 4, 1, 6, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "distributions, expected",
    [
        ("/srv/home/tables/distributions", "/srv/home/tables/forecast_metrics"),
        ("s3a://bucket/forecast/distributions/", "s3a://bucket/forecast/forecast_metrics"),
        ("forecast.distributions", "forecast.forecast_metrics"),
        ("distributions", "forecast_metrics"),
    ],
    ids=["path", "uri", "catalog", "bare-catalog"],
)
def test_the_metrics_table_sits_next_to_the_distributions_table(distributions, expected):
    assert metrics_table_location(distributions) == expected


def _written_distributions(spark, tmp_path) -> DistributionsTable:
    """The in-memory synthetic forecasts, written to a real Parquet distributions table."""
    forecasts = _forecasts()
    table = DistributionsTable(spark, str(tmp_path / "distributions"))
    rows = forecasts.index
    table.write(
        forecasts_to_frame(
            [
                Forecast(
                    "coffee",
                    row.model_name,
                    "v1.0",
                    row.forecast_start_date,
                    row.data_cutoff_date,
                    row.training_date,
                    row.model_uri,
                    forecasts.paths[(row.model_name, row.forecast_start_date)],
                )
                for row in rows.itertuples()
            ],
            NOW,
        )
    )
    return table


@pytest.mark.slow
def test_reads_give_back_the_paths_written_in_path_order(spark, tmp_path):
    table = _written_distributions(spark, tmp_path)
    forecasts = _forecasts()
    reader = ForecastReader(table, "coffee", "v1.0", chunk_dates=3)
    index = reader.index(["naive"], SCORED_DATES[1], SCORED_DATES[-1])
    assert index["forecast_start_date"].tolist() == SCORED_DATES[1:]
    assert (index["n_paths"] == 200).all() and not index["has_data_leakage"].any()
    read = list(reader.paths("naive", SCORED_DATES[::-1]))
    assert [day for day, _ in read] == SCORED_DATES
    for day, paths in read:
        np.testing.assert_array_equal(paths, forecasts.paths[("naive", day)])
    other_version = ForecastReader(table, "coffee", "v2.0")
    assert other_version.index(["naive"], SCORED_DATES[0], SCORED_DATES[-1]).empty
    assert (
        list(
            ForecastReader(
                DistributionsTable(spark, str(tmp_path / "none")), "coffee", "v1.0"
            ).paths("naive", SCORED_DATES)
        )
        == []
    )


@pytest.mark.slow
def test_evaluating_the_table_equals_evaluating_the_forecasts_in_memory(spark, tmp_path):
    table = _written_distributions(spark, tmp_path)
    from_table = evaluate_forecasts(_config(chunk_dates=3), HISTORY, table)
    forecasts = _forecasts()
    in_memory = score_span(_config(), HISTORY, forecasts.index, forecasts.read)
    pd.testing.assert_frame_equal(from_table.scores, in_memory.scores)
    pd.testing.assert_frame_equal(from_table.metrics, in_memory.metrics)


@pytest.mark.slow
def test_a_rewrite_replaces_its_keys_and_adds_no_row(spark, tmp_path):
    forecasts = _forecasts()
    evaluation = score_span(_config(), HISTORY, forecasts.index, forecasts.read)
    rows = metrics_rows(
        evaluation.metrics,
        "coffee",
        "v1.0",
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 31),
        NOW,
        "run-1",
    )
    table = MetricsTable(spark, str(tmp_path / "forecast_metrics"))
    assert table.new_keys(rows) == len(rows)
    assert table.write(rows) == len(rows)
    rerun = rows.assign(evaluation_run_id="run-2")
    assert table.new_keys(rerun) == 0
    table.write(rerun)
    stored = table.read()
    assert stored.columns == FORECAST_METRICS_SCHEMA.fieldNames()
    assert stored.count() == len(rows)
    assert {r.evaluation_run_id for r in stored.select("evaluation_run_id").collect()} == {"run-2"}
    # Another span is another key: its rows are written beside the first ones.
    other = rows.assign(evaluated_to=dt.date(2024, 3, 30))
    assert table.new_keys(other) == len(rows)
    assert table.write(other) == len(rows)
    both = table.read()
    assert both.count() == 2 * len(rows)
    crps = both.where(
        "model_name = 'naive' and metric = 'crps' and horizon_day = 0 and period = 'all'"
    ).collect()
    assert sorted(r.evaluated_to for r in crps) == [dt.date(2024, 3, 30), dt.date(2024, 3, 31)]
    assert {r.n_scored for r in crps} == {14 * len(SCORED_DATES) - 3}
