"""Key lookups in a Delta table's log with delta-rs, without Spark and without data files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from forecast_core.errors import TableError
from forecast_core.tables import delta_log

DAYS = [dt.date(2024, 7, day) for day in range(1, 8)]


def _table(location: Path, partition_by: list[str]) -> None:
    """Forecast rows of two models over a week, partitioned by ``partition_by``."""
    rows = pa.table(
        {
            "commodity": ["coffee"] * 14,
            "model_name": ["naive"] * 7 + ["sarimax"] * 7,
            "forecast_start_date": pa.array(DAYS * 2, pa.date32()),
            "path_id": list(range(14)),
        }
    )
    write_deltalake(str(location), rows, partition_by=partition_by)


def _keys(location: Path) -> set[tuple]:
    table = delta_log.open_table(str(location))
    assert table is not None
    wanted = {"commodity": ["coffee"], "model_name": ["naive"], "forecast_start_date": DAYS[2:5]}
    return delta_log.distinct_rows(table, ("model_name", "forecast_start_date"), wanted)


def test_keys_of_a_table_partitioned_by_them_come_from_the_log_alone(tmp_path):
    by_key, by_model = tmp_path / "by-key", tmp_path / "by-model"
    _table(by_key, ["commodity", "model_name", "forecast_start_date"])
    _table(by_model, ["commodity", "model_name"])
    expected = {("naive", day) for day in DAYS[2:5]}
    assert _keys(by_key) == _keys(by_model) == expected  # the two ways agree

    for data_file in [*by_key.rglob("*.parquet"), *by_model.rglob("*.parquet")]:
        data_file.unlink()
    assert _keys(by_key) == expected  # no data file was needed
    with pytest.raises(TableError):  # a date is a data column there: its files are read
        _keys(by_model)
