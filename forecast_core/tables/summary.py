"""What the distributions table holds per forecast, read without Spark (``forecast inspect``).

The lightest reader each format allows: delta-rs for a Delta table (its log, time travel
included), pyarrow for a Parquet one (hive partitions). Both give Arrow data that Arrow
groups; a catalog table (``db.distributions``) needs Spark and is read by
``DistributionsTable.summarize``, with the same result.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError

from forecast_core.errors import ConfigError, TableError, first_line
from forecast_core.tables import delta_log
from forecast_core.tables.schemas import SUMMARY_KEYS

# The Parquet layout's hive partitions (tables.schemas.DISTRIBUTIONS_PARTITIONING), typed.
_PARQUET_PARTITIONS = pa.schema(
    [
        ("commodity", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("forecast_start_date", pa.date32()),
    ]
)


def summarize_forecasts(
    location: str,
    table_format: str,
    commodity: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: str | None = None,
) -> list[dict[str, object]]:
    """One entry per forecast held (``SUMMARY_KEYS``, ``n_paths``, ``has_data_leakage``).

    Sorted by commodity, forecast date, model and model version; empty if no table.

    Raises:
        ConfigError: ``as_of`` given for a Parquet table.
        TableError: The table (or that version of it) cannot be read.
    """
    dataset = _dataset(location, table_format, as_of)
    if dataset is None:
        return []
    condition = ds.scalar(True)
    if commodity is not None:
        condition &= ds.field("commodity") == commodity
    if start is not None:
        condition &= ds.field("forecast_start_date") >= pa.scalar(start, pa.date32())
    if end is not None:
        condition &= ds.field("forecast_start_date") <= pa.scalar(end, pa.date32())
    rows = delta_log.scan(dataset, [*SUMMARY_KEYS, "path_id", "has_data_leakage"], condition)
    grouped = rows.group_by(list(SUMMARY_KEYS), use_threads=False).aggregate(
        [("path_id", "count"), ("has_data_leakage", "any")]
    )
    order = pc.sort_indices(
        grouped,
        sort_keys=[
            (c, "ascending")
            for c in ("commodity", "forecast_start_date", "model_name", "model_version")
        ],
    )
    return [
        {
            **{key: entry[key] for key in SUMMARY_KEYS},
            "n_paths": entry["path_id_count"],
            "has_data_leakage": entry["has_data_leakage_any"],
        }
        for entry in grouped.take(order).to_pylist()
    ]


def _dataset(location: str, table_format: str, as_of: str | None) -> ds.Dataset | None:
    """The table as an Arrow dataset, or None if there is no table at ``location``."""
    if table_format == "parquet":
        if as_of is not None:
            raise ConfigError(f"--as-of {as_of} needs a Delta table; {location} is Parquet")
        root = location.removeprefix("file://")
        if "://" not in root and not Path(root).is_dir():
            return None
        partitioning = ds.partitioning(_PARQUET_PARTITIONS, flavor="hive")
        return ds.dataset(root, format="parquet", partitioning=partitioning)
    try:
        table = DeltaTable(location)
        if as_of is not None:
            table.load_as_version(_existing_version(table, as_of))
    except TableNotFoundError:
        if as_of is None:
            return None
        raise TableError(f"no Delta table at {location} to read as of {as_of}") from None
    except (DeltaError, ValueError, OSError) as error:
        when = f" as of {as_of}" if as_of else ""
        raise TableError(
            f"cannot read Delta table {location}{when}: {first_line(error)}"
        ) from error
    return table.to_pyarrow_dataset()


def _existing_version(table: DeltaTable, as_of: str) -> int | dt.datetime:
    """``as_of`` as a version or time to load; a version past the newest is refused.

    delta-rs reports a version it does not hold as a kernel error about log segments.

    Raises:
        ConfigError: ``as_of`` is malformed, or a version newer than the table's newest.
    """
    wanted = _as_of_version(as_of)
    newest = table.version()
    if isinstance(wanted, int) and wanted > newest:
        raise ConfigError(
            f"--as-of {as_of}: the table's newest version is {newest}; expected a version "
            f"from 0 to {newest} or a time (`forecast table history` lists them)"
        )
    return wanted


def _as_of_version(as_of: str) -> int | dt.datetime:
    """A Delta version number, or a UTC time (``2025-11-14``, ``2025-11-14T06:00:00``)."""
    if as_of.isdigit():
        return int(as_of)
    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError:
        raise ConfigError(
            f"--as-of {as_of!r} is not a Delta version or a time; expected 12, 2025-11-14 "
            f"or 2025-11-14T06:00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
