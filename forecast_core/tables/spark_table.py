"""One Spark reader/writer for every forecast table and format: writes replace exact keys.

A table is a path or URI (``/data/distributions``, ``s3a://bucket/distributions``) or, when
the location has no ``/`` or ``:``, a catalog table name (``forecast.distributions``). Its
format is ``parquet`` (the embedded default, Spark alone) or ``delta`` (needs the Delta
Lake jars on the session).

A write replaces exactly the keys it holds and leaves every other key alone: it is a
dynamic partition overwrite of the partitions the rows fall in, and rows of other keys
that share those partitions are carried over. The distributions table is partitioned by
its key, so each forecast is its own partition: Spark stages every write in a private
``.spark-staging-<job>`` folder and renames whole partition folders into place at commit,
so concurrent writers of different keys never collide, a reader sees all of a forecast's
paths or none of them, and a rerun replaces instead of duplicating. Staging folders left
by a killed writer start with a dot and are ignored by readers.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from forecast_core.errors import ConfigError, TableError, first_line
from forecast_core.names import TABLE_FORMATS

# A write's staging folder lives for seconds to minutes; one this old was left by a kill.
STALE_STAGING_SECONDS = 3600
# Rows per row group of the file a local write stages its rows in (50 forecasts of 2,000).
_STAGED_ROW_GROUP = 100_000


@dataclass(frozen=True)
class TableSpec:
    """What a table is: its schema, the columns that identify a record, and its layout.

    Attributes:
        name: Short name for messages (``distributions``).
        schema: The explicit Spark schema, in column order.
        key: Columns identifying one record (a forecast, a metric); a write replaces the
            records of the keys it holds.
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

    def __init__(
        self, spark: SparkSession, location: str, table_format: str, spec: TableSpec
    ) -> None:
        if table_format not in TABLE_FORMATS:
            raise ConfigError(
                f"table format {table_format!r} is not one of {', '.join(TABLE_FORMATS)}"
            )
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
            elif self.table_format == "parquet":
                # The explicit schema also types the partition columns (dates stay dates).
                table = self.spark.read.schema(self.spec.schema).parquet(self.location)
            else:
                table = self.spark.read.format(self.table_format).load(self.location)
            return table.select(*self.spec.columns)
        except AnalysisException as error:
            if _is_missing_table(error):
                return None
            raise TableError(
                f"cannot read {self.spec.name} table {self.location!r} "
                f"({self.table_format}): {first_line(error)}"
            ) from error

    def keys(self, where: Column | None = None) -> set[tuple[object, ...]]:
        """The distinct keys present (optionally only those matching ``where``)."""
        table = self.read()
        if table is None:
            return set()
        if where is not None:
            table = table.where(where)
        return {tuple(row) for row in table.select(*self.spec.key).distinct().collect()}

    def write(self, rows: pd.DataFrame) -> int:
        """Replace the keys in ``rows`` with ``rows``, in one Spark write.

        Args:
            rows: Rows with every column of the spec (derived columns are recomputed).

        Returns:
            The number of rows written (carried-over rows of other keys not counted).

        Raises:
            TableError: Columns are missing, or Spark could not write.
        """
        if rows.empty:
            return 0
        missing = [c for c in self.spec.columns if c not in rows.columns]
        if missing:
            raise TableError(
                f"rows for {self.location!r} lack column(s) {', '.join(missing)}; "
                f"expected the {self.spec.name} schema"
            )
        rows = rows[list(self.spec.columns)]
        self._remove_stale_staging()
        with tempfile.TemporaryDirectory(prefix="forecast-rows-") as scratch:
            frame = self._to_spark(rows, Path(scratch))
            carried = self._rows_sharing_partitions(rows)
            if carried is not None:
                frame = frame.unionByName(carried)
            for column, expression in self.spec.derived.items():
                frame = frame.withColumn(column, expression())
            try:
                self._overwrite_partitions(frame)
            except Exception as error:  # Spark raises JVM errors of many kinds; report one line
                raise TableError(
                    f"cannot write {len(rows)} rows to {self.location!r} "
                    f"({self.table_format}): {first_line(error)}"
                ) from error
        return len(rows)

    def _to_spark(self, rows: pd.DataFrame, scratch: Path) -> DataFrame:
        """``rows`` as a Spark DataFrame of the table's schema.

        On a local master the rows go through a Parquet file in ``scratch`` (under
        ``TMPDIR``), which Spark scans: ``createDataFrame`` would hold them in the driver's
        heap and copy them into every task (a million rows is ~150 MB of Arrow; the 1 GiB
        default heap ran out after a few such writes and the scheduler hung); the file
        costs no extra time (0.6 s a million rows, won back in the scan). A cluster's
        executors cannot read the driver's disk, so there the rows go by
        ``createDataFrame``.
        """
        if not self.spark.sparkContext.master.startswith("local"):
            return self.spark.createDataFrame(rows, schema=self.spec.schema)
        # Naive timestamps are session time, as createDataFrame reads them; the session is UTC.
        arrow_schema = to_arrow_schema(self.spec.schema, timezone="UTC")
        try:
            arrow_rows = pa.Table.from_pandas(rows, schema=arrow_schema, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as error:
            raise TableError(
                f"rows for {self.location!r} do not fit the {self.spec.name} "
                f"schema: {first_line(error)}"
            ) from error
        path = scratch / "rows.parquet"
        # Uncompressed: read once, at once; row groups split the scan across the cores.
        pq.write_table(arrow_rows, path, compression="none", row_group_size=_STAGED_ROW_GROUP)
        return self.spark.read.schema(self.spec.schema).parquet(path.as_uri())

    def _remove_stale_staging(self) -> None:
        """Delete staging folders a killed writer left (local tables; readers ignore them)."""
        if self.is_catalog_table or "://" in self.location.replace("file://", ""):
            return
        root = Path(self.location.removeprefix("file://"))
        if not root.is_dir():
            return
        now = time.time()
        for staging in root.glob(".spark-staging-*"):
            if now - staging.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(staging, ignore_errors=True)

    def _overwrite_partitions(self, frame: DataFrame) -> None:
        if self.is_catalog_table and self.spark.catalog.tableExists(self.location):
            # insertInto matches columns by position, partition columns last.
            ordered = [c for c in frame.columns if c not in self.spec.partitioning]
            frame.select(*ordered, *self.spec.partitioning).write.insertInto(
                self.location, overwrite=True
            )
            return
        writer = (
            frame.write.format(self.table_format)
            .mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy(*self.spec.partitioning)
        )
        if self.is_catalog_table:
            writer.saveAsTable(self.location)
        else:
            writer.save(self.location)

    def _rows_sharing_partitions(self, rows: pd.DataFrame) -> DataFrame | None:
        """Rows of other keys in the partitions ``rows`` touch, to carry over the overwrite.

        None when every key is its own partition (the distributions table). The rows are
        collected first: Spark cannot overwrite a table it is reading in the same job.
        """
        if set(self.spec.partitioning) == set(self.spec.key):
            return None
        table = self.read()
        if table is None:
            return None
        touched = rows[list(self.spec.partitioning)].drop_duplicates()
        in_touched = table.join(
            self.spark.createDataFrame(touched), list(self.spec.partitioning), "left_semi"
        )
        written_keys = self.spark.createDataFrame(rows[list(self.spec.key)].drop_duplicates())
        kept = in_touched.join(written_keys, list(self.spec.key), "left_anti").toPandas()
        if kept.empty:
            return None
        return self.spark.createDataFrame(kept[list(self.spec.columns)], schema=self.spec.schema)


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
    return any(
        marker in text
        for marker in (
            "PATH_NOT_FOUND",
            "TABLE_OR_VIEW_NOT_FOUND",
            "is not a Delta table",
            "UNABLE_TO_INFER_SCHEMA",
        )
    )
