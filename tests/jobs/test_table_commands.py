"""``forecast table`` and ``inspect --as-of`` on a real Delta table, and their bad input."""

from __future__ import annotations

import json

import pytest

from forecast_core.config import StoreConfig

EXIT_USAGE = 2
pytestmark = pytest.mark.slow
DAILY = ["daily", "--forecast-date", "2025-11-14", "--models", "naive", "--n-paths", "50"]


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_history_as_of_and_optimize_after_a_rerun(invoke):
    assert invoke(*DAILY).exit_code == 0
    first = json.loads(invoke("table", "history", "--json").output)
    assert [c["operation"] for c in first] == ["WRITE", "CREATE TABLE"]
    metadata = json.loads(first[0]["user_metadata"])
    assert metadata["command"] == "daily" and metadata["models"] == "naive"
    assert metadata["model_uris"] == ["models:/coffee_naive/1"]

    as_of = invoke("inspect", "--as-of", str(first[0]["version"]), "--json")
    assert as_of.exit_code == 0, as_of.output
    report = json.loads(as_of.output)
    assert report["as_of"] == "1" and len(report["forecasts"]) == 1
    before = invoke("inspect", "--as-of", "0", "--json")
    assert json.loads(before.output)["forecasts"] == []  # the table as created: empty

    optimized = invoke("table", "optimize")
    assert optimized.exit_code == 0, optimized.output
    assert "vacuumed" in optimized.output


BAD_TABLE_INPUT = [
    pytest.param(
        ["inspect", "--as-of", "99"],
        "--as-of 99: the table's newest version is 1; expected a version from 0 to 1",
        id="as-of-unknown-version",
    ),
    pytest.param(["table", "optimize", "--retain-hours", "1"], "1 is not in the range", id="short"),
    pytest.param(
        ["table", "history", "--table-format", "parquet"], "needs a Delta table", id="parquet"
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_TABLE_INPUT)
def test_bad_table_input_is_one_line_exit_2(invoke, args, message):
    assert invoke(*DAILY).exit_code == 0
    result = invoke(*args)
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in _one_error_line(result)


def test_a_parquet_table_where_delta_is_expected_is_exit_2_and_nothing_written(invoke, home):
    parquet = invoke(*DAILY, "--table-format", "parquet")
    assert parquet.exit_code == 0, parquet.output
    table = StoreConfig.embedded(home).table_location
    registered = sorted(p.name for p in (home / "mlartifacts").rglob("*"))
    result = invoke(*DAILY[:2], "2025-11-13", *DAILY[3:])
    assert result.exit_code == EXIT_USAGE
    line = _one_error_line(result)
    assert table in line and "no _delta_log" in line and "expected a Delta table" in line
    assert sorted(p.name for p in (home / "mlartifacts").rglob("*")) == registered
