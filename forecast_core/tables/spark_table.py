"""One Spark reader/writer for every forecast table and format: writes replace exact keys.

A table is a path or URI (``/data/distributions``, ``s3a://bucket/distributions``) or, when
the location has no ``/`` or ``:``, a catalog table name (``forecast.distributions``). Its
format is ``delta`` (the default; needs the Delta Lake jars on the session) or ``parquet``.

A write replaces exactly the keys it holds and leaves every other key alone:

- **delta**: one transaction that overwrites with ``replaceWhere`` = the written keys (a
  predicate factored from the rows). Readers of every engine see committed snapshots only.
  Files are partitioned coarsely (``TableSpec.delta_partitioning``) with the rest of the key
  as data columns. Concurrent writers that collide are retried (``COMMIT_ATTEMPTS``), and
  each commit carries the run's identity as user metadata. Keys are read from the Delta log
  with delta-rs, without Spark (``delta_log``).
- **parquet**: a dynamic partition overwrite of the partitions the rows fall in, rows of
  other keys sharing those partitions carried over. The distributions table is partitioned
  by its key (one folder per forecast, renamed into place whole at commit). Spark stages
  every write in a ``.spark-staging-<job>`` folder; readers must skip hidden folders (Spark,
  pyarrow and pandas do; DuckDB's ``read_parquet`` does not: give it the glob
  ``PARQUET_READER_GLOB``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from forecast_core.errors import ConfigError, TableError, first_line
from forecast_core.names import TABLE_FORMATS, is_catalog_table
from forecast_core.tables import delta_log
from forecast_core.tables.predicates import key_predicate

# A write's staging folder lives for seconds to minutes; one this old was left by a kill.
STALE_STAGING_SECONDS = 3600
# Rows per row group of the file a local write stages its rows in (50 forecasts of 2,000).
_STAGED_ROW_GROUP = 100_000
# A Delta commit that loses a race to another writer is retried this many times in all,
# after a jittered pause that doubles from _RETRY_PAUSE seconds.
COMMIT_ATTEMPTS = 8
_RETRY_PAUSE = 0.5
# What Delta raises when another writer committed first (class names and error classes).
_CONCURRENT_MARKERS = (
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentTransactionException",
    "ConcurrentWriteException",
    "MetadataChangedException",
    "ProtocolChangedException",
    "DELTA_CONCURRENT",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
    # Another writer is creating the table: its folder exists, its first commit does not yet.
    "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION",
)
# Table properties of every Delta table we create: the features every engine reads
# (no deletion vectors), and statistics on the columns readers filter by, not on paths.
_DELTA_PROPERTIES = {
    "delta.enableDeletionVectors": "false",
    "delta.autoOptimize.optimizeWrite": "false",
}
# The files of a Parquet table a reader that does not skip hidden folders should read.
PARQUET_READER_GLOB = "[!._]*/**/*.parquet"

SparkProvider = SparkSession | Callable[[], SparkSession]


@dataclass(frozen=True)
class TableSpec:
    """What a table is: its schema, the columns that identify a record, and its layout.

    Attributes:
        name: Short name for messages (``distributions``).
        schema: The explicit Spark schema, in column order.
        key: Columns identifying one record (a forecast, a metric); a write replaces the
            records of the keys it holds.
        partitioning: Partition columns of the Parquet layout.
        delta_partitioning: Partition columns of the Delta layout (coarser: the rest of the
            key lives in data columns with file statistics).
        cluster_by: Columns ``optimize`` Z-orders the Delta files by, within a partition.
        derived: Columns the writer computes from the others (name -> expression), so no
            caller can hard-code them.
    """

    name: str
    schema: StructType
    key: tuple[str, ...]
    partitioning: tuple[str, ...]
    delta_partitioning: tuple[str, ...] = ()
    cluster_by: tuple[str, ...] = ()
    derived: dict[str, Callable[[], Column]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names in schema order."""
        return tuple(self.schema.fieldNames())

    @property
    def stats_columns(self) -> tuple[str, ...]:
        """Columns with Delta file statistics: the key and every date, not the paths nor
        the partition columns (Delta refuses those)."""
        dates = [f.name for f in self.schema.fields if f.dataType.typeName() == "date"]
        wanted = dict.fromkeys([*self.key, *dates])
        return tuple(c for c in wanted if c not in self.delta_partitioning)


class SparkTable:
    """A table described by ``spec`` at ``location`` in ``table_format``.

    ``spark`` may be a session or a function returning one: then the session is started
    only when Spark is first needed (a Delta path's keys are read without it).
    ``commit_metadata`` identifies the writing run in every Delta commit.
    """

    def __init__(
        self,
        spark: SparkProvider,
        location: str,
        table_format: str,
        spec: TableSpec,
        commit_metadata: Mapping[str, object] | None = None,
    ) -> None:
        if table_format not in TABLE_FORMATS:
            raise ConfigError(
                f"table format {table_format!r} is not one of {', '.join(TABLE_FORMATS)}"
            )
        self._spark = spark
        self.location = location
        self.table_format = table_format
        self.spec = spec
        self.commit_metadata = dict(commit_metadata or {})
        self.is_catalog_table = is_catalog_table(location)
        self._delta_table_created = False

    @functools.cached_property
    def spark(self) -> SparkSession:
        """The Spark session, started on first use if a provider was given."""
        return self._spark if isinstance(self._spark, SparkSession) else self._spark()

    @property
    def is_delta_path(self) -> bool:
        """A Delta table named by a path or URI: its log can be read without Spark."""
        return self.table_format == "delta" and not self.is_catalog_table

    @property
    def _local_root(self) -> Path | None:
        """The folder of a table on the local disk, or None (catalog or remote table)."""
        if self.is_catalog_table or "://" in self.location.replace("file://", ""):
            return None
        return Path(self.location.removeprefix("file://"))

    def check(self) -> None:
        """Refuse a location that holds a table of another format or schema, before writing.

        Raises:
            ConfigError: One line naming the location and what was found there.
        """
        root = self._local_root
        if root is None or not root.is_dir() or not any(root.iterdir()):
            return
        has_log = (root / "_delta_log").is_dir()
        where = f"table {self.location}"
        if self.table_format == "parquet":
            if has_log:
                raise ConfigError(
                    f"{where} holds a Delta table; expected Parquet "
                    f"(use --table-format delta, or another --table)"
                )
            first = self.spec.partitioning[0]
            strays = sorted(
                p.name for p in root.iterdir() if not p.name.startswith((".", "_", f"{first}="))
            )
            if strays:
                raise ConfigError(
                    f"{where} holds {strays[0]!r}, not a {self.spec.name} Parquet table; "
                    f"expected only {first}=... partition folders"
                )
            return
        if not has_log:
            raise ConfigError(
                f"{where} holds files but no _delta_log (a Parquet table?); expected a Delta "
                f"table (use --table-format parquet, or another --table)"
            )
        table = delta_log.open_table(str(root))
        if table is None:  # a log with no commit yet: another writer is creating the table
            return
        found = delta_log.schema_types(table)
        expected = {f.name: f.dataType.typeName() for f in self.spec.schema.fields}
        if found != expected:
            missing = [c for c in expected if found.get(c) != expected[c]]
            extra = [c for c in found if c not in expected]
            raise ConfigError(
                f"{where} holds a Delta table of another schema (differs in "
                f"{', '.join(missing + extra)}); expected the {self.spec.name} schema"
            )

    def read(self, as_of: str | None = None) -> DataFrame | None:
        """The whole table in schema order, or None if it does not exist.

        Args:
            as_of: Delta only: a table version (``12``) or a timestamp
                (``2025-11-14`` or ``2025-11-14T06:00:00``) to read the table as it was.
        """
        if as_of is not None and self.table_format != "delta":
            raise ConfigError(f"--as-of {as_of} needs a Delta table; {self.location} is Parquet")
        try:
            if self.is_catalog_table and as_of is None:
                table = self.spark.table(self.location)
            elif self.table_format == "parquet":
                # The explicit schema also types the partition columns (dates stay dates).
                table = self.spark.read.schema(self.spec.schema).parquet(self.location)
            else:
                reader = self.spark.read.format("delta")
                if as_of is not None:
                    option = "versionAsOf" if as_of.isdigit() else "timestampAsOf"
                    reader = reader.option(option, as_of)
                table = (
                    reader.table(self.location)
                    if self.is_catalog_table
                    else reader.load(self.location)
                )
            return table.select(*self.spec.columns)
        except AnalysisException as error:
            if _is_missing_table(error) and as_of is None:
                return None
            raise TableError(
                f"cannot read {self.spec.name} table {self.location!r} "
                f"({self.table_format}{f' as of {as_of}' if as_of else ''}): {first_line(error)}"
            ) from error

    def keys(self, where: Column | None = None) -> set[tuple[object, ...]]:
        """The distinct keys present (optionally only those matching ``where``)."""
        table = self.read()
        if table is None:
            return set()
        if where is not None:
            table = table.where(where)
        return {tuple(row) for row in table.select(*self.spec.key).distinct().collect()}

    def history(self, limit: int | None = None) -> list[dict[str, object]]:
        """The Delta table's commits, newest first (empty if there is no table yet)."""
        if not self.is_delta_path:
            raise ConfigError(
                f"table history needs a Delta table named by a path; {self.location} is "
                f"{'a catalog table' if self.is_catalog_table else 'Parquet'}"
            )
        table = delta_log.open_table(self.location)
        return [] if table is None else delta_log.history(table, limit)

    def write(self, rows: pd.DataFrame, metadata: Mapping[str, object] | None = None) -> int:
        """Replace the keys in ``rows`` with ``rows``, in one Spark write.

        Args:
            rows: Rows with every column of the spec (derived columns are recomputed).
            metadata: More commit metadata for this write (Delta), beside the run's.

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
        if self.table_format == "parquet":
            self._remove_stale_staging()
        with tempfile.TemporaryDirectory(prefix="forecast-rows-") as scratch:
            frame = self._to_spark(rows, Path(scratch))
            for column, expression in self.spec.derived.items():
                frame = frame.withColumn(column, expression())
            try:
                if self.table_format == "delta":
                    user_metadata = json.dumps(
                        {**self.commit_metadata, **(metadata or {})}, sort_keys=True, default=str
                    )
                    self._replace_keys(frame, key_predicate(rows, self.spec.key), user_metadata)
                else:
                    carried = self._rows_sharing_partitions(rows)
                    if carried is not None:
                        frame = frame.unionByName(carried)
                    self._overwrite_partitions(frame)
            except TableError:
                raise
            except Exception as error:  # Spark raises JVM errors of many kinds; report one line
                raise TableError(
                    f"cannot write {len(rows)} rows to {self.location!r} "
                    f"({self.table_format}): {first_line(error)}"
                ) from error
        return len(rows)

    def optimize(self, retain_hours: int) -> dict[str, object]:
        """Compact small files (Z-ordered by ``cluster_by``), then vacuum unreferenced ones.

        Files a reader may still be using are kept: only files unreferenced for longer than
        ``retain_hours`` are deleted (Delta refuses less than its 7-day default).
        """
        if self.table_format != "delta":
            raise ConfigError(f"optimize needs a Delta table; {self.location} is Parquet")
        target = self._sql_name()
        order = f" ZORDER BY ({', '.join(self.spec.cluster_by)})" if self.spec.cluster_by else ""
        try:
            compacted = self.spark.sql(f"OPTIMIZE {target}{order}").collect()[0]
            self.spark.sql(f"VACUUM {target} RETAIN {retain_hours} HOURS").collect()
        except AnalysisException as error:
            if _is_missing_table(error):
                raise ConfigError(f"there is no Delta table at {self.location}") from error
            raise TableError(f"cannot optimize {self.location}: {first_line(error)}") from error
        metrics = compacted["metrics"]
        return {
            "files_added": int(metrics["numFilesAdded"]),
            "files_removed": int(metrics["numFilesRemoved"]),
        }

    def _sql_name(self) -> str:
        """How SQL names the table: its catalog name, or ``delta.`path```."""
        if self.is_catalog_table:
            return self.location
        return f"delta.`{self.location.replace('`', '``')}`"

    def _create_delta_table(self) -> None:
        """Create the Delta table with its schema, layout and properties, if it is absent."""
        columns = ", ".join(
            f"`{f.name}` {f.dataType.simpleString()}{'' if f.nullable else ' NOT NULL'}"
            for f in self.spec.schema.fields
        )
        properties = {
            **_DELTA_PROPERTIES,
            "delta.dataSkippingStatsColumns": ",".join(self.spec.stats_columns),
        }
        options = ", ".join(f"'{k}' = '{v}'" for k, v in properties.items())
        partitioned = (
            f" PARTITIONED BY ({', '.join(self.spec.delta_partitioning)})"
            if self.spec.delta_partitioning
            else ""
        )
        self.spark.sql(
            f"CREATE TABLE IF NOT EXISTS {self._sql_name()} ({columns}) USING DELTA"
            f"{partitioned} TBLPROPERTIES ({options})"
        )

    def _replace_keys(self, frame: DataFrame, predicate: str, user_metadata: str) -> None:
        """One Delta transaction replacing the keys of ``predicate``, retried on conflicts."""
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                if not self._delta_table_created:
                    # delta-rs answers "does it exist" from the log in milliseconds; Spark's
                    # CREATE TABLE IF NOT EXISTS costs seconds in a fresh JVM.
                    if not self.is_delta_path or delta_log.open_table(self.location) is None:
                        self._create_delta_table()
                    self._delta_table_created = True
                writer = (
                    frame.write.format("delta")
                    .mode("overwrite")
                    .option("replaceWhere", predicate)
                    .option("partitionOverwriteMode", "static")
                    .option("userMetadata", user_metadata)
                )
                if self.is_catalog_table:
                    writer.saveAsTable(self.location)
                else:
                    writer.save(self.location)
                return
            except Exception as error:  # a JVM error; only Delta's conflicts are retried
                if not _is_concurrent_commit(error):
                    raise
                if attempt == COMMIT_ATTEMPTS:
                    raise TableError(
                        f"cannot commit to {self.location!r}: other writers won "
                        f"{COMMIT_ATTEMPTS} times in a row ({first_line(error)})"
                    ) from error
                time.sleep(_RETRY_PAUSE * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))

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
        if not (self.spark.sparkContext.master or "").startswith("local"):
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
        # No dictionary for floating-point columns (the paths): it never pays for them, and
        # decoding it back was 5-9% of the JVM's samples in a profiled 2-million-row write.
        pq.write_table(
            arrow_rows,
            path,
            compression="none",
            row_group_size=_STAGED_ROW_GROUP,
            use_dictionary=[
                f.name for f in self.spec.schema.fields if f.dataType.typeName() != "double"
            ],
        )
        return self.spark.read.schema(self.spec.schema).parquet(path.as_uri())

    def _remove_stale_staging(self) -> None:
        """Delete staging folders a killed writer left (local tables; readers ignore them)."""
        root = self._local_root
        if root is None or not root.is_dir():
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
        kept = cast(
            pd.DataFrame, in_touched.join(written_keys, list(self.spec.key), "left_anti").toPandas()
        )
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
            "DELTA_TABLE_NOT_FOUND",
            "DELTA_MISSING_DELTA_TABLE",
        )
    )


def _is_concurrent_commit(error: BaseException) -> bool:
    """Whether ``error`` is Delta saying another writer committed first."""
    text = f"{type(error).__name__} {error}"
    return any(marker in text for marker in _CONCURRENT_MARKERS)
