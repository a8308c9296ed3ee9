"""Bad usage and configuration: one clear line, exit code 2, nothing written."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner

from jobs.cli import cli
from tests.cli_args import Q1_2024_MONTHLY

EXIT_USAGE = 2


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# One case per row: the rows are alike in shape by design.
BAD_INPUTS = [
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--models", "naive,prophet"],
        "unknown model 'prophet'; expected one of: ensemble, naive, naive_acal, naive_cal, "
        "random_walk, sarimax, sarimax_acal, sarimax_cal, xgboost, xgboost_acal, xgboost_cal",
        id="unknown-model",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--train-frequency", "fortnightly"],
        "training frequency 'fortnightly' is not one of daily, weekly",
        id="unknown-frequency",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--commodity", "gold"],
        "unknown commodity 'gold'; expected one of: cocoa, coffee, sugar",
        id="unknown-commodity",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--commodity", "coffee,gold"],
        "unknown commodity 'gold'; expected one of: cocoa, coffee, sugar (or 'all')",
        id="unknown-commodity-in-list",
    ),
    pytest.param(
        ["backfill", *Q1_2024_MONTHLY, "--commodity", "all,sugar"],
        "commodities 'all,sugar' mix 'all' with names",
        id="all-beside-names",
    ),
    pytest.param(
        ["plan", "--start", "2024-01-01", "--end", "2024-03-31", "--commodity", " , "],
        "no commodity given in ' , '; expected keys like coffee,sugar or 'all'",
        id="empty-commodity-list",
    ),
    pytest.param(
        ["evaluate", "--from", "2024-01-01", "--to", "2024-03-31", "--commodity", "co-ffee"],
        "commodity 'co-ffee' is not valid; expected a lower-case key",
        id="malformed-commodity",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2030-01-01", "--commodity", "all"],
        "no commodity can be forecast: cocoa: forecast date 2030-01-01 is after today",
        id="all-commodities-refused",
    ),
    pytest.param(
        ["report", "--from", "2024-01-01", "--to", "2024-03-31", "--commodity", "all"],
        "report takes one commodity, got 'all'",
        id="report-of-several-commodities",
    ),
    pytest.param(
        ["monitor", "--coverage-80-min", "0.9", "--coverage-80-max", "0.8"],
        "coverage band 0.9..0.8 is not valid; expected 0 <= min < max <= 1",
        id="monitor-inverted-band",
    ),
    pytest.param(
        ["monitor", "--lookback-days", "0"],
        "'FORECAST_MONITOR_LOOKBACK_DAYS'): 0 is not in the range x>=1",
        id="monitor-no-lookback",
    ),
    pytest.param(
        ["monitor", "--commodity", "gold"],
        "unknown commodity 'gold'; expected one of: cocoa, coffee, sugar (or 'all')",
        id="monitor-unknown-commodity",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-13-01"],
        "'2024-13-01' does not match",
        id="malformed-date",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-02-30"],
        "'2024-02-30' does not match",
        id="impossible-date",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2005-01-03"],
        "forecast date 2005-01-03 is not after the first coffee price (2012-01-03)",
        id="before-the-data-starts",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2025-12-01"],
        "is 17 days after the newest coffee price (2025-11-14)",
        id="data-too-stale",
    ),
    pytest.param(["daily", "--forecast-date", "2999-01-01"], "is after today", id="future-date"),
    pytest.param(
        ["daily", "--forecast-date", "2012-01-04"],
        "forecast date 2012-01-04 has too little coffee history for naive, random_walk, sarimax, "
        "xgboost (semiannually cadence: naive from 2012-07-01, random_walk from 2012-07-01, "
        "sarimax from 2013-01-01, xgboost from 2013-01-01); expected a date on or after "
        "2013-01-01",
        id="too-little-history",
    ),
    pytest.param(
        ["backfill", "--start", "2012-06-01", "--end", "2012-08-01", "--models", "naive"],
        "forecast date 2012-06-01 has too little coffee history for naive",
        id="backfill-starting-too-early",
    ),
    pytest.param(
        ["backfill", "--start", "2024-03-01", "--end", "2024-01-01"],
        "--start 2024-03-01 is after --end 2024-01-01",
        id="start-after-end",
    ),
    pytest.param(
        [
            "backfill",
            "--start",
            "2024-01-01",
            "--end",
            "2024-03-31",
            "--shard-index",
            "2",
            "--shard-count",
            "2",
        ],
        "shard index 2 is not in [0, 2)",
        id="shard-index-out-of-range",
    ),
    pytest.param(
        ["backfill", "--start", "2024-01-01", "--end", "2024-03-31", "--shard-index", "1"],
        "shard index 1 given without a shard count",
        id="index-without-count",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--model-version", "v 1"],
        "model version 'v 1' is not valid",
        id="bad-model-version",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--data", "file:///nowhere/lake"],
        "file:///nowhere/lake: no Delta table at file:///nowhere/lake/prices; "
        "expected a prices table",
        id="data-tables-missing",
    ),
    pytest.param(
        ["data", "load", "--data", "file:///nowhere/lake"],
        "no file to load; expected --prices FILE and/or --weather FILE",
        id="load-without-a-file",
    ),
    pytest.param(
        ["plan", "--start", "2024-01-01", "--end", "2024-03-31", "--shard-count", "0"],
        "Invalid value for '--shard-count': 0 is not in the range x>=1.",
        id="zero-shards",
    ),
    pytest.param(
        ["backfill", "--start", "2024-01-01", "--end", "2024-03-31", "--shard-count", "0"],
        "Invalid value for '--shard-count' (env var: 'FORECAST_SHARD_COUNT'): 0 is not in the "
        "range x>=1.",
        id="backfill-zero-shards",
    ),
    pytest.param(
        ["monitor", "--as-of", "2025-14-01"],
        "Invalid value for '--as-of': '2025-14-01' does not match the format '%Y-%m-%d'.",
        id="monitor-malformed-as-of",
    ),
    pytest.param(
        ["monitor", "--as-of", "2999-01-01"],
        "Error: --as-of 2999-01-01 is after today (",
        id="monitor-as-of-in-the-future",
    ),
    pytest.param(
        ["monitor", "--as-of", "14/11/2025"],
        "Invalid value for '--as-of': '14/11/2025' does not match the format '%Y-%m-%d'.",
        id="monitor-day-first-as-of",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--models", "naive,xgbost"],
        "Error: unknown model 'xgbost' (did you mean 'xgboost'?); expected one of: ensemble, "
        "naive, naive_acal, naive_cal, random_walk, sarimax, sarimax_acal, sarimax_cal, "
        "xgboost, xgboost_acal, xgboost_cal",
        id="misspelled-model",
    ),
    pytest.param(
        ["evaluate", "--from", "2024-01-01", "--to", "2024-03-31", "--models", "Random-Walk"],
        "Error: unknown model 'random-walk' (did you mean 'random_walk'?)",
        id="misspelled-model-any-case",
    ),
    pytest.param(
        ["daily", "--forecast-date", "2024-07-15", "--commodity", "Cofee"],
        "Error: unknown commodity 'cofee' (did you mean 'coffee'?); expected one of: cocoa, "
        "coffee, sugar (or 'all')",
        id="misspelled-commodity",
    ),
    pytest.param(
        ["monitor", "--commodity", "coffee,suggar"],
        "Error: unknown commodity 'suggar' (did you mean 'sugar'?)",
        id="misspelled-commodity-in-list",
    ),
    pytest.param(
        ["models", "show", "coffee", "xgbost", "1"],
        "Error: unknown model 'xgbost' (did you mean 'xgboost'?)",
        id="models-misspelled-model",
    ),
    pytest.param(
        ["connect-server", "--driver-memory", "4 GB"],
        "Error: heap size '4 GB' is not valid; expected a JVM size like 4g or 512m",
        id="connect-server-bad-heap",
    ),
    pytest.param(
        ["inspect", "--commodity", "Co ffee"],
        "Error: commodity 'co ffee' is not valid; expected a lower-case key like 'coffee'",
        id="inspect-malformed-commodity",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_nothing_written(invoke, home, args, message):
    result = invoke(*args)
    assert result.exit_code == EXIT_USAGE, result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1, result.output
    assert message in result.output
    assert not (home / "mlflow.db").exists()
    assert not (home / "tables").exists()


GOOD_CSV = "date,commodity,open,high,low,close\n" + "".join(
    f"2024-0{month}-{day:02d},coffee,100,101,99,100.5\n" for month in (5, 6) for day in range(3, 29)
)
BAD_DATA_FILES = [
    pytest.param("", "prices.csv: no rows; expected at least one row", id="empty"),
    pytest.param(
        "date,commodity,open,high,low,close\n",
        "prices.csv: no rows; expected at least one row",
        id="header-only",
    ),
    pytest.param(GOOD_CSV[:-25], "column 'commodity': missing value on 2024-06-28", id="truncated"),
    pytest.param(
        GOOD_CSV.replace("2024-05-10,coffee,100,101,99,100.5", "2024-05-10,coffee,NaN,NaN,NaN,NaN"),
        "column 'open': missing value on 2024-05-10",
        id="nan-filled",
    ),
    pytest.param(
        GOOD_CSV.replace("2024-05-11", "2024-05-10"), "duplicate date 2024-05-10", id="duplicated"
    ),
    pytest.param(
        GOOD_CSV.replace("2024-05-04", "2024-05-02"),
        "2024-05-02 (coffee) comes after",
        id="unsorted",
    ),
    pytest.param(
        GOOD_CSV.replace("2024-05-12,coffee,100,", "2024-05-12,coffee,cheap,"),
        "column 'open': 'cheap' is not a number",
        id="wrong-type",
    ),
    pytest.param(
        GOOD_CSV.replace("2024-05-12,", "12/05/24x,"),
        "prices.csv: column 'date': '12/05/24x' is not an ISO date on row 10; "
        "expected YYYY-MM-DD (or a typed date column)",
        id="bad-date-in-file",
    ),
    pytest.param(
        GOOD_CSV.replace("2024-05-12,", "12/05/2024,"),
        "prices.csv: column 'date': '12/05/2024' is not an ISO date on row 10; "
        "expected YYYY-MM-DD (or a typed date column)",
        id="day-first-date-valid-both-ways",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_DATA_FILES)
def test_a_bad_data_file_is_one_line_exit_2_and_nothing_written(
    invoke, home, tmp_path, content, message
):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "prices.csv").write_text(content)
    result = invoke("daily", "--forecast-date", "2024-07-01", "--data", str(folder))
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Error: " in result.output and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not home.exists()


BAD_SETTINGS = [
    pytest.param(
        {"FORECAST_N_PATHS": "many"},
        "Invalid value for '--n-paths' (env var: 'FORECAST_N_PATHS'): 'many' is not a valid "
        "integer.",
        id="paths-not-a-number",
    ),
    pytest.param(
        {"FORECAST_MODELS": "naive,xgbost"},
        "Error: unknown model 'xgbost' (did you mean 'xgboost'?)",
        id="misspelled-model-in-env",
    ),
    pytest.param(
        {"FORECAST_SEED": "0.5"},
        "Invalid value for '--seed' (env var: 'FORECAST_SEED'): '0.5' is not a valid integer.",
        id="seed-not-an-integer",
    ),
]


@pytest.mark.parametrize(("env", "message"), BAD_SETTINGS)
def test_a_bad_setting_in_the_environment_is_one_line_exit_2(invoke, home, env, message):
    result = invoke("daily", "--forecast-date", "2024-07-15", env=env)
    assert result.exit_code == EXIT_USAGE, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error")] == [
        line for line in result.output.splitlines() if message in line
    ]
    assert not home.exists()


def test_an_unreachable_tracking_server_is_exit_2_and_never_prints_the_password(invoke, home):
    uri = f"http://ops:pa55word@127.0.0.1:{_free_loopback_port()}"
    result = invoke(
        "daily",
        "--forecast-date",
        "2024-07-15",
        "--models",
        "naive",
        env={"MLFLOW_TRACKING_URI": uri},
    )
    assert result.exit_code == EXIT_USAGE
    assert "is unreachable" in result.output
    assert "pa55word" not in result.output
    assert not (home / "tables").exists()


def test_plan_sizes_the_shards():
    result = CliRunner().invoke(
        cli, ["plan", "--start", "2018-01-01", "--end", "2024-12-31", "--shard-count", "4"]
    )
    assert result.exit_code == 0
    assert "coffee: 14 windows per commodity, 10228 forecasts (4 models)" in result.output
    assert "4 useful (set completions to 4)" in result.output


def test_plan_json_has_one_entry_per_shard():
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "--start",
            "2024-01-15",
            "--end",
            "2024-03-31",
            "--train-frequency",
            "monthly",
            "--shard-count",
            "5",
            "--json",
        ],
    )
    plan = json.loads(result.output)
    assert plan["training_dates"] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert plan["useful_shards"] == 3
    assert [s["forecast_dates"] for s in plan["shards"]] == [31, 29, 17, 0, 0]
    assert plan["forecasts"] == 77 * 4
