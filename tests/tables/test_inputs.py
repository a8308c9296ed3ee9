"""FORECAST_DATA naming Delta tables: read with delta-rs, validated as files are."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from forecast_core.errors import DataError
from forecast_core.tables.inputs import load_files, load_inputs

TODAY = dt.date(2026, 1, 1)


@pytest.fixture
def files(tmp_path, sample_dataset):
    """The bundled sample as a prices CSV and a weather Parquet file."""
    prices, weather = tmp_path / "prices.csv", tmp_path / "weather.parquet"
    sample_dataset.prices.to_csv(prices, index=False)
    sample_dataset.weather.to_parquet(weather)
    return {"prices": prices, "weather": weather}


def test_tables_load_the_same_rows_as_the_files_and_say_their_versions(
    tmp_path, files, sample_dataset
):
    root = str(tmp_path / "lake")
    load_files(root, files, TODAY, {"command": "test"})

    for location in (root, f"file://{root}"):
        dataset = load_inputs(location, today=TODAY)
        pd.testing.assert_frame_equal(dataset.prices, sample_dataset.prices)
        pd.testing.assert_frame_equal(dataset.weather, sample_dataset.weather)
        assert dataset.versions == {"prices": 0, "weather": 0}
        assert dataset.lineage() == {"input_versions": {"prices": 0, "weather": 0}}
    assert sample_dataset.lineage() == {}
    # The tables are plain Delta: their schema is the documented one, dates as Delta dates.
    types = {f.name: str(f.type.type) for f in DeltaTable(f"{root}/prices").schema().fields}
    assert types == {
        "date": "date",
        "commodity": "string",
        "open": "double",
        "high": "double",
        "low": "double",
        "close": "double",
    }


def test_weather_is_optional_and_prices_are_not(tmp_path, files):
    root = str(tmp_path / "lake")
    load_files(root, {"prices": files["prices"]}, TODAY, {})
    dataset = load_inputs(str(root), today=TODAY)
    assert dataset.weather.empty
    assert dataset.versions == {"prices": 0}
    assert dataset.history("coffee").weather_features == ()

    with pytest.raises(DataError) as error:
        load_inputs(f"file://{tmp_path}/nowhere", today=TODAY)
    assert str(error.value) == (
        f"file://{tmp_path}/nowhere: no Delta table at file://{tmp_path}/nowhere/prices; "
        f"expected a prices table (`forecast data load --prices FILE` creates it)"
    )


def _write_prices(location: str, close: float, day: dt.date) -> None:
    rows = pa.table(
        {
            "date": pa.array([day], pa.date32()),
            "commodity": ["coffee"],
            "open": [100.0],
            "high": [100.0],
            "low": [100.0],
            "close": [close],
        }
    )
    write_deltalake(location, rows, mode="append")


def test_a_table_written_by_another_tool_is_validated_like_a_file(tmp_path):
    """Rows that never went through `forecast data load` get the same one-line errors."""
    root = tmp_path / "lake"
    _write_prices(str(root / "prices"), -3.0, dt.date(2025, 1, 2))
    with pytest.raises(DataError) as error:
        load_inputs(str(root), today=TODAY)
    assert str(error.value) == (
        f"{root}/prices: column 'close': non-positive value -3.0 on 2025-01-02 (coffee); "
        f"expected prices > 0"
    )

    future = tmp_path / "future"
    _write_prices(str(future / "prices"), 5.0, dt.date(2025, 1, 2))
    _write_prices(str(future / "prices"), 5.0, TODAY + dt.timedelta(days=1))
    with pytest.raises(DataError, match=r"2026-01-02 \(coffee\) is after today 2026-01-01"):
        load_inputs(str(future), today=TODAY)


def test_creating_a_table_another_loader_created_writes_nothing(tmp_path, files):
    """Two first loads racing: the loser's creation gives way, and its rows are merged."""
    from forecast_core.tables import delta_log
    from forecast_core.tables.inputs import SCHEMAS, merge, read

    root = str(tmp_path / "lake")
    load_files(root, {"prices": files["prices"]}, TODAY, {})
    empty = pa.Table.from_pylist([], schema=SCHEMAS["prices"])
    assert delta_log.create_table(f"{root}/prices", empty, CommitProperties()) is False
    snapshot = read(root, "prices")
    assert snapshot is not None
    rows = snapshot.rows.tail(1).assign(date=lambda f: pd.to_datetime(f["date"]), close=1.0)
    result = merge(root, "prices", rows, {})
    assert (result.inserted, result.updated, result.version) == (0, 1, 1)
