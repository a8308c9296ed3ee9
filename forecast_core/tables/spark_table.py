"""One Spark reader/writer for every forecast table and format, idempotent by key.

A table is a path or URI (``/data/distributions``, ``s3a://bucket/distributions``) or, when
the location has no ``/`` or ``:``, a catalog table name (``forecast.distributions``). Its
format is ``parquet`` (the embedded default, Spark alone) or ``delta`` (needs the Delta
Lake jars on the session). A write drops rows whose key is already in the table and
appends the rest in one Spark write, so a rerun never duplicates and never touches rows
of other keys. Each table declares its schema, key, partitioning and derived columns
once, in a ``TableSpec``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StructType

from forecast_core.errors import ConfigError, TableError

TABLE_FORMATS: tuple[str, ...] = ("parquet", "delta")


@dataclass(frozen=True)
class TableSpec:
    """What a table is: its schema, the columns that identify a record, and its layout.

    Attributes:
        name: Short name for messages (``distributions``).
        schema: The explicit Spark schema, in column order.
        key: Columns identifying one record (a forecast, a metric); writes skip keys present.
        partitioning: Partition columns.
        derived: Columns the writer computes from the others (name -> expression), so no
            caller can hard-code them.
    """

    name: str
    schema: StructType
    key: tuple[str, ...]
    partitioning: tuple[str, ...]
    derived: dict[str, Callable[[], Column]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names in schema order."""
        return tuple(self.schema.fieldNames())


class SparkTable:
    """A table described by ``spec`` at ``location`` in ``table_format``."""

    def __init__(self, spark: SparkSession, location: str, table_format: str,
                 spec: TableSpec) -> None:
        if table_format not in TABLE_FORMATS:
            raise ConfigError(f"table format {table_format!r} is not one of "
                              f"{', '.join(TABLE_FORMATS)}")
        self.spark = spark
        self.location = location
        self.table_format = table_format
        self.spec = spec
        self.is_catalog_table = "/" not in location and ":" not in location

    def read(self) -> DataFrame | None:
        """The whole table as a Spark DataFrame in schema order, or None if it does not exist."""
        try:
            if self.is_catalog_table:
                table = self.spark.table(self.location)
            else:
                table = self.spark.read.format(self.table_format).load(self.location)
            return table.select(*self.spec.columns)
        except AnalysisException as error:
            if _is_missing_table(error):
                return None
            raise TableError(f"cannot read {self.spec.name} table {self.location!r} "
                             f"({self.table_format}): {first_line(error)}") from error

    def keys(self, where: Column | None = None) -> set[tuple[object, ...]]:
        """The distinct keys present (optionally only those matching ``where``)."""
        table = self.read()
        if table is None:
            return set()
        if where is not None:
            table = table.where(where)
        return {tuple(row) for row in table.select(*self.spec.key).distinct().collect()}

    def write(self, rows: pd.DataFrame) -> int:
        """Append the rows whose key is not yet in the table, in one Spark write.

        Args:
            rows: Rows with every column of the spec (derived columns are recomputed).

        Returns:
            The number of rows written.

        Raises:
            TableError: Columns are missing, or Spark could not write.
        """
        if rows.empty:
            return 0
        missing = [c for c in self.spec.columns if c not in rows.columns]
        if missing:
            raise TableError(f"rows for {self.location!r} lack column(s) {', '.join(missing)}; "
                             f"expected the {self.spec.name} schema")
        rows = self._without_present_keys(rows[list(self.spec.columns)])
        if rows.empty:
            return 0
        frame = self.spark.createDataFrame(rows, schema=self.spec.schema)
        for column, expression in self.spec.derived.items():
            frame = frame.withColumn(column, expression())
        writer = frame.write.format(self.table_format).mode("append").partitionBy(
            *self.spec.partitioning)
        try:
            if self.is_catalog_table:
                writer.saveAsTable(self.location)
            else:
                writer.save(self.location)
        except Exception as error:  # Spark raises JVM errors of many kinds; report one line
            raise TableError(f"cannot write {len(rows)} rows to {self.location!r} "
                             f"({self.table_format}): {first_line(error)}") from error
        return len(rows)

    def _without_present_keys(self, rows: pd.DataFrame) -> pd.DataFrame:
        present = self.keys(self._covering(rows))
        if not present:
            return rows
        row_keys = zip(*(rows[column] for column in self.spec.key), strict=True)
        return rows[[key not in present for key in row_keys]]

    def _covering(self, rows: pd.DataFrame) -> Column:
        """A filter that holds every key of ``rows`` (date ranges, value lists) for pruning."""
        types = {f.name: f.dataType for f in self.spec.schema.fields}
        conditions = []
        for column in self.spec.key:
            values = rows[column]
            if isinstance(types[column], DateType):
                conditions.append(F.col(column).between(min(values), max(values)))
            else:
                conditions.append(F.col(column).isin(list(pd.unique(values))))
        condition = conditions[0]
        for extra in conditions[1:]:
            condition = condition & extra
        return condition


def date_range_condition(column: str, start: dt.date | None, end: dt.date | None) -> Column:
    """``start <= column <= end``, either bound optional."""
    condition = F.lit(True)
    if start is not None:
        condition = condition & (F.col(column) >= start)
    if end is not None:
        condition = condition & (F.col(column) <= end)
    return condition


def _is_missing_table(error: AnalysisException) -> bool:
    text = str(error)
    return any(marker in text for marker in ("PATH_NOT_FOUND", "TABLE_OR_VIEW_NOT_FOUND",
                                             "is not a Delta table", "UNABLE_TO_INFER_SCHEMA"))


def first_line(error: BaseException) -> str:
    """The first line of an error's message (JVM errors carry pages of stack trace)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
