"""The lakehouse inputs: Delta tables of prices and weather under one root, via delta-rs.

A data root (a local folder or a URI such as ``s3a://bucket/inputs``) holds two Delta
tables, ``<root>/prices`` and ``<root>/weather``, in the schemas of
``forecast_core.data.schemas`` (dates as Delta ``date``). Reads and merges go through
delta-rs (``delta_log``): a daily run reading its inputs starts no JVM, and loading new
rows needs no Spark. The rows are validated by ``forecast_core.data``, as files are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from deltalake import CommitProperties

from forecast_core.data import MarketDataset, load_dataset
from forecast_core.data.loading import (
    VALIDATORS,
    empty_weather,
    validate_prices_by_commodity,
)
from forecast_core.data.schemas import INPUT_KEYS, PRICE_COLUMNS, WEATHER_COLUMNS
from forecast_core.data.updates import validated_update
from forecast_core.errors import DataError
from forecast_core.tables import delta_log

PRICES, WEATHER = "prices", "weather"


def _schema(columns: tuple[str, ...], key: tuple[str, str]) -> pa.Schema:
    types = {"date": pa.date32(), "commodity": pa.string(), "region": pa.string()}
    return pa.schema(
        [pa.field(c, types.get(c, pa.float64()), nullable=c not in key) for c in columns]
    )


SCHEMAS: dict[str, pa.Schema] = {
    PRICES: _schema(PRICE_COLUMNS, INPUT_KEYS[PRICES]),
    WEATHER: _schema(WEATHER_COLUMNS, INPUT_KEYS[WEATHER]),
}


@dataclass(frozen=True)
class Snapshot:
    """The rows of one input table as of one committed Delta version."""

    rows: pd.DataFrame
    version: int


@dataclass(frozen=True)
class MergeResult:
    """What one merge did: rows inserted and updated, and the table version after it."""

    table: str
    inserted: int
    updated: int
    version: int


def is_table_root(location: str) -> bool:
    """Whether ``location`` names Delta input tables rather than a folder of files.

    A URI (``s3a://...``, ``file://...``) always does; a local folder does if it holds a
    ``prices`` or ``weather`` Delta table (a ``_delta_log`` folder).
    """
    if "://" in location:
        return True
    root = Path(location)
    return any((root / name / "_delta_log").is_dir() for name in (PRICES, WEATHER))


def load_inputs(
    location: str | None, today: dt.date | None = None, isolate_commodities: bool = False
) -> MarketDataset:
    """The validated inputs at ``location``: Delta tables, files, or the bundled sample.

    ``isolate_commodities`` validates each commodity's prices on their own, as
    ``load_dataset`` does: a commodity with a bad row is recorded as rejected.

    Raises:
        DataError: A table or file is missing, unreadable, or fails validation.
    """
    if location and is_table_root(location):
        return read_dataset(location, today, isolate_commodities)
    return load_dataset(location or None, today=today, isolate_commodities=isolate_commodities)


def read_dataset(
    root: str, today: dt.date | None = None, isolate_commodities: bool = False
) -> MarketDataset:
    """The current versions of the tables under ``root``, validated as files are."""
    prices = read(root, PRICES)
    if prices is None:
        raise DataError(
            f"{root}: no Delta table at {table_location(root, PRICES)}; "
            f"expected a prices table (`forecast data load --prices FILE` creates it)"
        )
    weather = read(root, WEATHER)
    rejected: dict[str, str] = {}
    if isolate_commodities:
        _require_rows(root, PRICES, prices)
        rows = prices.rows.sort_values(list(INPUT_KEYS[PRICES]), kind="stable")
        valid_prices, rejected = validate_prices_by_commodity(
            rows.reset_index(drop=True), table_location(root, PRICES), today
        )
    else:
        valid_prices = _checked(root, PRICES, prices, today)
    return MarketDataset(
        valid_prices,
        _checked(root, WEATHER, weather, today) if weather else empty_weather(),
        root,
        rejected=rejected,
        versions={PRICES: prices.version} | ({WEATHER: weather.version} if weather else {}),
    )


def _require_rows(root: str, name: str, snapshot: Snapshot) -> None:
    if snapshot.rows.empty:
        raise DataError(
            f"{table_location(root, name)}: no rows in version {snapshot.version}; "
            "expected at least one row"
        )


def _checked(root: str, name: str, snapshot: Snapshot, today: dt.date | None) -> pd.DataFrame:
    """One table's rows, validated as its file would be (sorted by key first)."""
    source = table_location(root, name)
    _require_rows(root, name, snapshot)
    normalise, check = VALIDATORS[name]
    rows = normalise(snapshot.rows, source).sort_values(list(INPUT_KEYS[name]), kind="stable")
    return check(rows.reset_index(drop=True), source, today)


def load_files(
    root: str, files: Mapping[str, Path], today: dt.date, metadata: Mapping[str, object]
) -> list[MergeResult]:
    """Merge the rows of ``files`` (table name -> file) into the tables under ``root``.

    Every file is validated (``data.updates``) before any table is touched, so a bad
    file merges nothing. Each commit's ``userMetadata`` holds ``metadata`` and the file.

    Raises:
        DataError: A file is unreadable or fails validation; no table was changed.
    """
    staged = {}
    for name, path in files.items():
        held = read(root, name)
        staged[name] = validated_update(
            name, path, held.rows if held else None, table_location(root, name), today
        )
    return [
        merge(root, name, rows, {**metadata, "file": files[name].name})
        for name, rows in staged.items()
    ]


def table_location(root: str, name: str) -> str:
    """Where the input table ``name`` (``prices`` or ``weather``) lives under ``root``."""
    return f"{root.rstrip('/')}/{name}"


def read(root: str, name: str) -> Snapshot | None:
    """The rows and version of the table ``name`` under ``root``, or None if it is absent."""
    table = delta_log.open_table(table_location(root, name))
    if table is None:
        return None
    return Snapshot(delta_log.scan(table.to_pyarrow_dataset()).to_pandas(), table.version())


def merge(root: str, name: str, rows: pd.DataFrame, metadata: Mapping[str, object]) -> MergeResult:
    """Upsert validated ``rows`` into the table ``name`` by its key; create it if absent.

    The first load creates the table with its rows in one commit (no empty table is
    left behind if it fails).

    A Delta MERGE: a key already held with other values is updated (the old values stay
    in the table's history), a new key is inserted, and a row equal to the one held is
    left alone, so loading the same rows again commits nothing. ``metadata`` goes into
    the commit's ``userMetadata``, as Spark writes it.
    """
    location, schema, key = table_location(root, name), SCHEMAS[name], INPUT_KEYS[name]
    source = pa.Table.from_pandas(
        rows.assign(date=rows["date"].dt.date), schema=schema, preserve_index=False
    )
    properties = CommitProperties(
        custom_metadata={"userMetadata": json.dumps(dict(metadata), sort_keys=True)}
    )
    table = delta_log.open_table(location)
    if table is None and delta_log.create_table(location, source, properties):
        return MergeResult(name, source.num_rows, 0, 0)
    table = table or delta_log.open_table(location)
    assert table is not None, "create_table found a table there"
    changed = " OR ".join(f"(t.{c} IS DISTINCT FROM s.{c})" for c in schema.names if c not in key)
    metrics = (
        table.merge(
            source,
            predicate=" AND ".join(f"t.{c} = s.{c}" for c in key),
            source_alias="s",
            target_alias="t",
            commit_properties=properties,
        )
        .when_matched_update_all(predicate=changed)
        .when_not_matched_insert_all()
        .execute()
    )
    return MergeResult(
        name,
        int(metrics["num_target_rows_inserted"]),
        int(metrics["num_target_rows_updated"]),
        table.version(),
    )
