"""The one factory of Spark tables, and the named tables opened through it.

The kind of a table follows from its location and format alone: a Delta or Parquet table
named by a path or URI, or named in the session's catalog. ``open_spark_table`` picks it;
``NamedTable`` is the base of the project's own tables (distributions, forecast metrics):
one spec, whichever kind stores it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession

from forecast_core.errors import ConfigError
from forecast_core.names import TABLE_FORMATS, is_catalog_table
from forecast_core.tables.delta_tables import DeltaCatalogTable, DeltaPathTable
from forecast_core.tables.parquet_tables import ParquetCatalogTable, ParquetPathTable
from forecast_core.tables.spark_table import SparkProvider, SparkTable, TableSpec

# (format, named in the catalog) -> the kind.
_KINDS: dict[tuple[str, bool], type[SparkTable]] = {
    ("delta", False): DeltaPathTable,
    ("delta", True): DeltaCatalogTable,
    ("parquet", False): ParquetPathTable,
    ("parquet", True): ParquetCatalogTable,
}


def open_spark_table(
    spark: SparkProvider,
    location: str,
    table_format: str,
    spec: TableSpec,
    commit_metadata: Mapping[str, object] | None = None,
) -> SparkTable:
    """The table of ``spec`` at ``location`` in ``table_format``, as the kind that stores it.

    Raises:
        ConfigError: ``table_format`` is not one of ``TABLE_FORMATS``.
    """
    if table_format not in TABLE_FORMATS:
        raise ConfigError(f"table format {table_format!r} is not one of {', '.join(TABLE_FORMATS)}")
    kind = _KINDS[(table_format, is_catalog_table(location))]
    return kind(spark, location, spec, commit_metadata)


class NamedTable:
    """A table of one spec, stored by whichever kind its location and format make it.

    The operations every table has are the stored table's own.
    """

    def __init__(
        self,
        spark: SparkProvider,
        location: str,
        table_format: str,
        spec: TableSpec,
        commit_metadata: Mapping[str, object] | None = None,
    ) -> None:
        self.stored = open_spark_table(spark, location, table_format, spec, commit_metadata)

    @property
    def location(self) -> str:
        """The path, URI or catalog name."""
        return self.stored.location

    @property
    def table_format(self) -> str:
        """``delta`` or ``parquet``."""
        return self.stored.table_format

    @property
    def spec(self) -> TableSpec:
        """The schema, key and layout."""
        return self.stored.spec

    @property
    def spark(self) -> SparkSession:
        """The Spark session, started on first use if a provider was given."""
        return self.stored.spark

    def check(self) -> None:
        """Refuse a location that holds a table of another format or schema (ConfigError)."""
        self.stored.check()

    def read(self, as_of: str | None = None) -> DataFrame | None:
        """The whole table in schema order (as of a Delta version or time), or None."""
        return self.stored.read(as_of)

    def keys(self, where: Column | None = None) -> set[tuple[object, ...]]:
        """The distinct keys present (optionally only those matching ``where``)."""
        return self.stored.keys(where)

    def history(self, limit: int | None = None) -> list[dict[str, object]]:
        """The Delta table's commits, newest first (a path table only)."""
        return self.stored.history(limit)

    def write(self, rows: pd.DataFrame, metadata: Mapping[str, object] | None = None) -> int:
        """Replace the keys in ``rows`` with ``rows``; the number of rows written."""
        return self.stored.write(rows, metadata)

    def optimize(self, retain_hours: int) -> dict[str, object]:
        """Compact and vacuum a Delta table: files added and removed."""
        return self.stored.optimize(retain_hours)
