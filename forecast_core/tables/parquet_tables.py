"""Parquet tables through Spark: named by a path (``ParquetPathTable``) or in a catalog.

A write is a dynamic partition overwrite of the partitions its rows fall in, rows of
other keys sharing those partitions carried over. The distributions table is partitioned
by its key (one folder per forecast, renamed into place whole at commit). Spark stages
every write in a ``.spark-staging-<job>`` folder; readers must skip hidden folders (Spark,
pyarrow and pandas do; DuckDB's ``read_parquet`` does not: give it the glob
``PARQUET_READER_GLOB``). There is no history, no time travel and no optimize.
"""

from __future__ import annotations

import abc
import datetime as dt
import shutil
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pandas as pd
from pyspark.sql import DataFrame, DataFrameWriter
from pyspark.sql.types import DataType

from forecast_core.errors import ConfigError
from forecast_core.tables.spark_table import (
    SparkTable,
    is_connect,
    local_root,
    occupied_local_folder,
)
from forecast_core.tables.staging import STALE_SECONDS, staging_folder

# The files of a Parquet table a reader that does not skip hidden folders should read.
PARQUET_READER_GLOB = "[!._]*/**/*.parquet"
# Characters a Hadoop glob reads as syntax (or a partition folder name escapes).
_GLOB_SYNTAX = frozenset("{}[]*?,\\/=%:")


class ParquetSparkTable(SparkTable):
    """What Parquet tables share wherever they are: partition overwrites with carry-over."""

    table_format = "parquet"

    def _load(self, as_of: str | None) -> DataFrame:
        if as_of is not None:
            raise ConfigError(f"--as-of {as_of} needs a Delta table; {self.location} is Parquet")
        return self._load_parquet()

    def _commit(self, frame: DataFrame, rows: pd.DataFrame, metadata: dict[str, object]) -> None:
        carried = self._rows_sharing_partitions(rows)
        self._overwrite(frame if carried is None else frame.unionByName(carried))

    def _rows_sharing_partitions(self, rows: pd.DataFrame) -> DataFrame | None:
        """Rows of other keys in the partitions ``rows`` touch, to carry over the overwrite.

        None when every key is its own partition (the distributions table). The rows are
        collected first: Spark cannot overwrite a table it is reading in the same job.
        """
        partitioning = list(self.spec.partitioning)
        if set(partitioning) == set(self.spec.key):
            return None
        table = self.read()
        if table is None:
            return None
        touched = rows[partitioning].drop_duplicates()
        in_touched = table.join(self.spark.createDataFrame(touched), partitioning, "left_semi")
        written_keys = self.spark.createDataFrame(rows[list(self.spec.key)].drop_duplicates())
        kept = cast(
            pd.DataFrame, in_touched.join(written_keys, list(self.spec.key), "left_anti").toPandas()
        )
        if kept.empty:
            return None
        return self.spark.createDataFrame(kept[list(self.spec.columns)], schema=self.spec.schema)

    @abc.abstractmethod
    def _load_parquet(self) -> DataFrame:
        """The table as Spark reads it, typed by the spec."""

    @abc.abstractmethod
    def _overwrite(self, frame: DataFrame) -> None:
        """Overwrite the partitions ``frame`` falls in with ``frame``."""


class ParquetPathTable(ParquetSparkTable):
    """A Parquet table named by a path or URI: one folder per partition, found by globbing."""

    def check(self) -> None:
        root = occupied_local_folder(self.location)
        if root is None:
            return
        where = f"table {self.location}"
        if (root / "_delta_log").is_dir():
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

    def distinct_rows(
        self, columns: Sequence[str], equal: Mapping[str, Sequence[Any]]
    ) -> set[tuple[Any, ...]]:
        """From one glob of the partition folders, no data read, when the partitions allow.

        Every partition of the distributions table is one forecast, renamed into place
        whole at commit, so a folder's existence is the forecast's. A full Spark scan
        would list every one of the table's folders (12,785 for coffee 2018-2024, tens of
        seconds). The glob names the values asked for, so the file system filters the
        folders and only the matches cross to Python: a batch's check before its write
        costs milliseconds however large the table has grown. A question the folders
        cannot answer (a column or value that is not a plain partition value), or asked
        through a Spark Connect session (whose client has no Hadoop file system), goes to
        Spark.
        """
        partitioning = self.spec.partitioning
        globbable = set(columns) <= set(partitioning) and all(
            column in equal and all(_plain(value) for value in equal[column])
            for column in partitioning
        )
        if not globbable or is_connect(self.spark):  # no Hadoop file system on Connect
            return super().distinct_rows(columns, equal)
        if any(not equal[column] for column in partitioning):
            return set()
        pattern = "/".join(
            [self.location.rstrip("/")]
            + [f"{column}={_glob_any(equal[column])}" for column in partitioning]
        )
        types = {f.name: f.dataType for f in self.spec.schema.fields}
        found = set()
        for folder in self._glob(pattern):
            values = dict(part.split("=", 1) for part in folder.rsplit("/", len(partitioning))[1:])
            found.add(tuple(_partition_value(values[c], types[c]) for c in columns))
        return found

    def _glob(self, pattern: str) -> list[str]:
        """The paths matching the Hadoop glob ``pattern``, through the session's file system.

        The one use of Spark's JVM gateway: the table's file system (local, S3A) as Spark
        is configured to reach it.
        """
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None, "a live Spark session has a JVM gateway"
        path = jvm.org.apache.hadoop.fs.Path(pattern)
        file_system = path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        return [str(status.getPath()) for status in file_system.globStatus(path) or []]

    def _commit(self, frame: DataFrame, rows: pd.DataFrame, metadata: dict[str, object]) -> None:
        self._remove_stale_staging()
        super()._commit(frame, rows, metadata)

    @property
    def _staging_folder(self) -> str | None:
        return staging_folder(self.location)

    def _remove_stale_staging(self) -> None:
        """Delete staging folders a killed writer left (local tables; readers ignore them)."""
        root = local_root(self.location)
        if root is None or not root.is_dir():
            return
        now = time.time()
        for staging in root.glob(".spark-staging-*"):
            if now - staging.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(staging, ignore_errors=True)

    def _load_parquet(self) -> DataFrame:
        # The explicit schema also types the partition columns (dates stay dates).
        return self.spark.read.schema(self.spec.schema).parquet(self.location)

    def _overwrite(self, frame: DataFrame) -> None:
        _partition_overwrite(frame, self.spec.partitioning).save(self.location)


class ParquetCatalogTable(ParquetSparkTable):
    """A Parquet table the session's catalog names (``forecast.distributions``)."""

    @property
    def _kind_text(self) -> str:
        return "a catalog table"

    def _load_parquet(self) -> DataFrame:
        return self.spark.table(self.location)

    def _overwrite(self, frame: DataFrame) -> None:
        if self.spark.catalog.tableExists(self.location):
            # insertInto matches columns by position, partition columns last.
            ordered = [c for c in frame.columns if c not in self.spec.partitioning]
            frame.select(*ordered, *self.spec.partitioning).write.insertInto(
                self.location, overwrite=True
            )
            return
        _partition_overwrite(frame, self.spec.partitioning).saveAsTable(self.location)


def _partition_overwrite(frame: DataFrame, partitioning: Sequence[str]) -> DataFrameWriter:
    """A writer of ``frame`` that replaces only the partitions its rows fall in."""
    return (
        frame.write.format("parquet")
        .mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy(*partitioning)
    )


def _plain(value: object) -> bool:
    """Whether ``value`` can stand in a glob and a partition folder name as it is."""
    return not _GLOB_SYNTAX.intersection(str(value))


def _glob_any(values: Sequence[object]) -> str:
    """A Hadoop glob matching exactly one of ``values`` (no glob syntax in them)."""
    texts = sorted({v.isoformat() if isinstance(v, dt.date) else str(v) for v in values})
    return texts[0] if len(texts) == 1 else "{" + ",".join(texts) + "}"


def _partition_value(text: str, data_type: DataType) -> object:
    """A partition folder's value as its column's Python type (dates and integers typed)."""
    name = data_type.typeName()
    if name == "date":
        return dt.date.fromisoformat(text)
    if name in ("integer", "long", "short", "byte"):
        return int(text)
    return text
