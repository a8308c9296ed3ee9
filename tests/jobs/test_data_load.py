"""``forecast data load``: new rows merged by key, corrections in the history, bad files refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from deltalake import DeltaTable

from jobs.cli import cli
from tests.conftest import RUN_STARTED

EXIT_USAGE = 2
PRICE_HEADER = "date,commodity,open,high,low,close\n"


def _load(*args: str) -> Result:
    return CliRunner().invoke(cli, ["data", "load", *args], env={"FORECAST_DATA": None})


def _file(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def _prices_csv(folder: Path, name: str, *rows: str) -> str:
    return _file(folder, name, PRICE_HEADER + "".join(f"{row}\n" for row in rows))


@pytest.fixture
def lake(tmp_path) -> str:
    """A prices table holding two days of coffee and a weather table of one region."""
    root = str(tmp_path / "lake")
    prices = _prices_csv(
        tmp_path,
        "first.csv",
        "2025-11-10,coffee,1,2,1,1.5",
        "2025-11-11,coffee,1,2,1,1.6",
    )
    weather = _file(
        tmp_path,
        "weather.csv",
        "date,region,temp_min,temp_mean,temp_max,precipitation\n2025-11-10,Brazil,15,20,25,0\n",
    )
    result = _load("--prices", prices, "--weather", weather, "--data", root)
    assert result.exit_code == 0, result.output
    assert f"{root}/prices: 2 rows inserted, 0 updated; version 0" in result.output
    return root


def _prices(root: str, version: int | None = None) -> pd.DataFrame:
    table = DeltaTable(f"{root}/prices", version=version)
    return table.to_pandas().sort_values("date").reset_index(drop=True)


def test_the_same_file_loaded_twice_commits_nothing(lake, tmp_path):
    again = _prices_csv(
        tmp_path,
        "again.csv",
        "2025-11-11,Coffee,1,2,1,1.6",  # same key and values, other spelling of the name
        "2025-11-10,coffee,1,2,1,1.5",
        "2025-11-10,coffee,1,2,1,1.5",  # an exact repeat inside one file is harmless
    )
    result = _load("--prices", again, "--data", lake)
    assert result.exit_code == 0, result.output
    assert f"{lake}/prices: unchanged (every row already held); version 0" in result.output
    assert [c["version"] for c in DeltaTable(f"{lake}/prices").history()] == [0]


def test_a_correction_updates_the_row_and_the_history_keeps_the_old_value(lake, tmp_path):
    correction = _prices_csv(
        tmp_path, "fix.csv", "2025-11-11,coffee,1,2,1,1.7", "2025-11-12,coffee,1,2,1,1.8"
    )
    result = _load("--prices", correction, "--data", lake)
    assert result.exit_code == 0, result.output
    assert f"{lake}/prices: 1 rows inserted, 1 updated; version 1" in result.output

    assert _prices(lake)["close"].tolist() == [1.5, 1.7, 1.8]
    assert _prices(lake, version=0)["close"].tolist() == [1.5, 1.6]
    latest = DeltaTable(f"{lake}/prices").history(1)[0]
    assert latest["operation"] == "MERGE"
    assert latest["operationMetrics"]["num_target_rows_updated"] == 1
    assert '"file": "fix.csv"' in latest["userMetadata"]


TODAY = RUN_STARTED.date()  # the day of the stopped clock (stopped_clock)
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()
BAD_LOADS = [
    pytest.param(
        ["2025-11-12,coffee,1,2,1,1.8", f"{TOMORROW},coffee,1,2,1,1.9"],
        f"bad.csv: column 'date': {TOMORROW} (coffee) is after today {TODAY}; "
        f"expected no future-dated rows",
        id="future-date",
    ),
    pytest.param(
        ["2025-11-12,coffee,1,2,1,1.8", "2025-11-12,coffee,1,2,1,1.9"],
        "bad.csv: duplicate key (coffee, 2025-11-12) with conflicting 'close' values 1.8 and "
        "1.9; expected one row per commodity and date",
        id="conflicting-duplicate",
    ),
    pytest.param(
        ["2025-11-12,coffee,1,2,1,-1.8"],
        "bad.csv: column 'close': non-positive value -1.8 on 2025-11-12 (coffee); "
        "expected prices > 0",
        id="negative-price",
    ),
    pytest.param(
        ["20/11/2025,coffee,1,2,1,1.8"],
        "bad.csv: column 'date': '20/11/2025' is not an ISO date on row 1; "
        "expected YYYY-MM-DD (or a typed date column)",
        id="day-first-date",
    ),
    pytest.param(
        [
            "2025-11-12,coffee,1,2,1,1.8",
            "11/13/2025,coffee,1,2,1,1.8",
            "2025-11-14,coffee,1,2,1,1.9",
        ],
        "bad.csv: column 'date': '11/13/2025' is not an ISO date on row 2; "
        "expected YYYY-MM-DD (or a typed date column)",
        id="mixed-date-styles",
    ),
    pytest.param(
        ["11/12/2025,coffee,1,2,1,1.8"],
        "bad.csv: column 'date': '11/12/2025' is not an ISO date on row 1; "
        "expected YYYY-MM-DD (or a typed date column)",
        id="date-valid-both-ways-round",
    ),
    pytest.param(
        ["2025-12-12,coffee,1,2,1,1.8"],
        "bad.csv: column 'date': no coffee prices from 2025-11-11 to 2025-12-12; "
        "expected gaps of at most 14 days",
        id="gap-left-in-the-table",
    ),
]


@pytest.mark.parametrize(("rows", "message"), BAD_LOADS)
def test_a_bad_prices_file_is_refused_and_nothing_is_merged(
    lake, tmp_path, rows, message, stopped_clock
):
    before = _prices(lake)
    weather = _file(
        tmp_path,
        "w.csv",
        "date,region,temp_min,temp_mean,temp_max,precipitation\n2025-11-11,Brazil,15,20,25,0\n",
    )
    result = _load(
        "--prices", _prices_csv(tmp_path, "bad.csv", *rows), "--weather", weather, "--data", lake
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output == f"Error: {message}\n"
    pd.testing.assert_frame_equal(_prices(lake), before)
    for name in ("prices", "weather"):  # the good weather file was not merged either
        assert DeltaTable(f"{lake}/{name}").version() == 0


def test_a_bad_schema_is_refused(lake, tmp_path):
    no_close = _file(
        tmp_path, "short.csv", "date,commodity,open,high,low\n2025-11-12,coffee,1,2,1\n"
    )
    result = _load("--prices", no_close, "--data", lake)
    assert result.exit_code == EXIT_USAGE
    assert result.output == (
        "Error: short.csv: missing column(s) 'close'; "
        "expected columns: date, commodity, open, high, low, close\n"
    )
    weather = _file(tmp_path, "w.csv", "date,region,temp_min\n2025-11-11,Brazil,abc\n")
    result = _load("--weather", weather, "--data", lake)
    assert result.exit_code == EXIT_USAGE
    assert "w.csv: missing column(s) 'temp_mean', 'temp_max', 'precipitation'" in result.output
    assert DeltaTable(f"{lake}/weather").version() == 0


def test_usage_errors_name_what_was_expected(tmp_path):
    prices = _prices_csv(tmp_path, "p.csv", "2025-11-12,coffee,1,2,1,1.8")
    no_file = _load("--data", str(tmp_path / "lake"))
    assert no_file.exit_code == EXIT_USAGE
    assert (
        no_file.output == "Error: no file to load; expected --prices FILE and/or --weather FILE\n"
    )

    no_target = _load("--prices", prices)
    assert no_target.exit_code == EXIT_USAGE
    assert "Missing option '--data'" in no_target.output

    files = tmp_path / "files"
    files.mkdir()
    _prices_csv(files, "prices.csv", "2025-11-12,coffee,1,2,1,1.8")
    into_files = _load("--prices", prices, "--data", str(files))
    assert into_files.exit_code == EXIT_USAGE
    assert into_files.output.startswith(f"Error: --data '{files}' holds data files, not Delta")
    assert sorted(p.name for p in files.iterdir()) == ["prices.csv"]

    missing = _load("--prices", str(tmp_path / "nope.csv"), "--data", str(tmp_path / "lake"))
    assert missing.exit_code == EXIT_USAGE
    assert "does not exist" in missing.output
    assert not (tmp_path / "lake").exists()


WEATHER_HEADER = "date,region,temp_min,temp_mean,temp_max,precipitation,humidity,radiation\n"


def test_weather_with_empty_measurements_reloads_as_unchanged_and_a_fill_is_an_update(
    lake, tmp_path
):
    sparse = _file(tmp_path, "sparse.csv", WEATHER_HEADER + "2025-11-11,Brazil,15,20,25,0,,\n")
    assert (
        "1 rows inserted, 0 updated; version 1" in _load("--weather", sparse, "--data", lake).output
    )
    again = _load("--weather", sparse, "--data", lake)
    assert "weather: unchanged (every row already held); version 1" in again.output
    filled = _file(tmp_path, "filled.csv", WEATHER_HEADER + "2025-11-11,Brazil,15,20,25,0,80,\n")
    assert (
        "0 rows inserted, 1 updated; version 2" in _load("--weather", filled, "--data", lake).output
    )
    rows = DeltaTable(f"{lake}/weather").to_pandas().sort_values("date")
    assert rows["humidity"].tolist()[-1] == 80.0
    assert rows["radiation"].isna().all()


def test_conflicting_weather_rows_name_the_region_and_the_column(lake, tmp_path):
    clash = _file(
        tmp_path,
        "clash.csv",
        WEATHER_HEADER + "2025-11-11,Brazil,15,20,25,0,,\n2025-11-11,Brazil,15,21,25,0,,\n",
    )
    result = _load("--weather", clash, "--data", lake)
    assert result.exit_code == EXIT_USAGE
    assert result.output == (
        "Error: clash.csv: duplicate key (Brazil, 2025-11-11) with conflicting 'temp_mean' "
        "values 20.0 and 21.0; expected one row per region and date\n"
    )
    assert DeltaTable(f"{lake}/weather").version() == 0
