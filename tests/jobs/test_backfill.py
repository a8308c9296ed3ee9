"""``forecast backfill`` end to end: sharded runs equal one process, row for row."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from forecast_core.config import StoreConfig
from forecast_core.tables.distributions import DistributionsTable
from tests.cli_args import Q1_2024_MONTHLY
from tests.conftest import invoke_in

pytestmark = pytest.mark.slow
RANGE = (*Q1_2024_MONTHLY, "--n-paths", "100")
# model_uri carries registry version numbers, which depend on registration order.
PROVENANCE_FREE = ["generation_timestamp", "model_uri"]


def _rows(spark, home) -> pd.DataFrame:
    table = DistributionsTable(spark, StoreConfig.embedded(home).table_location).read()
    frame = table.toPandas()
    return frame.sort_values(["model_name", "forecast_start_date", "path_id"]).reset_index(
        drop=True
    )


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, spark) -> pd.DataFrame:
    """The table of RANGE's backfill in one local process (what both masters' shards equal)."""
    home = tmp_path_factory.mktemp("single")
    result = invoke_in(home)("backfill", *RANGE)
    assert result.exit_code == 0, result.output
    assert "trained 12," in result.output
    return _rows(spark, home)


def test_two_shards_one_after_another_equal_one_process(invoke_on, tmp_path, spark, one_process):
    """The shards run on ``spark_master`` (the in-process local session, or the loopback
    cluster); the one process they are compared with runs locally."""
    sharded = tmp_path / "sharded"
    for index in ("0", "1"):
        result = invoke_on(
            "backfill",
            *RANGE,
            env={
                "FORECAST_HOME": str(sharded),
                "JOB_COMPLETION_INDEX": index,
                "FORECAST_SHARD_COUNT": "2",
            },
        )
        assert result.exit_code == 0, result.output

    sharded_rows, single_rows = _rows(spark, sharded), one_process
    assert len(single_rows) == 4 * 91 * 100 + 91  # 4 models x 91 days x 100 paths + actuals
    pd.testing.assert_frame_equal(
        sharded_rows.drop(columns=PROVENANCE_FREE), single_rows.drop(columns=PROVENANCE_FREE)
    )

    forecasts = single_rows[~single_rows["is_actuals"]]
    month_start = forecasts["forecast_start_date"].map(lambda d: d.replace(day=1))
    assert (forecasts["training_date"] == month_start).all()  # newest model on or before
    assert (forecasts["data_cutoff_date"] < forecasts["forecast_start_date"]).all()
    assert not single_rows["has_data_leakage"].any()
    keys = forecasts.groupby(["model_name", "forecast_start_date"]).size()
    assert (keys == 100).all()


def test_a_range_starting_inside_a_window_trains_that_window(invoke, home, spark):
    result = invoke(
        "backfill",
        "--start",
        "2024-02-20",
        "--end",
        "2024-03-05",
        "--train-frequency",
        "monthly",
        "--models",
        "naive",
        "--n-paths",
        "20",
    )
    assert result.exit_code == 0, result.output
    assert "Trained and registered Coffee_Naive_2024-02-01_v1.0" in result.output
    forecasts = _rows(spark, home).query("not is_actuals")
    assert forecasts["forecast_start_date"].min() == dt.date(2024, 2, 20)
    assert set(forecasts["training_date"]) == {dt.date(2024, 2, 1), dt.date(2024, 3, 1)}
