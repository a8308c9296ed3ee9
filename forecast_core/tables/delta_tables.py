"""Delta tables through Spark: named by a path (``DeltaPathTable``) or in a catalog.

A write is one transaction that overwrites with ``replaceWhere`` = the written keys (a
predicate factored from the rows), so readers of every engine see committed snapshots
only. Files are partitioned by ``TableSpec.delta_partitioning`` with the rest of the key
as data columns. Concurrent writers that collide are retried (``COMMIT_ATTEMPTS``), and
each commit carries the run's identity as user metadata. A path table's keys, schema and
history are read from its log with delta-rs, without Spark (``delta_log``).
"""

from __future__ import annotations

import abc
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, DataFrameReader, DataFrameWriter

from forecast_core.errors import ConfigError, TableError, first_line
from forecast_core.tables import delta_log
from forecast_core.tables.predicates import key_predicate
from forecast_core.tables.spark_table import SparkTable, is_missing_table, occupied_local_folder
from forecast_core.tables.staging import staging_folder

logger = logging.getLogger(__name__)
# A Delta commit that loses a race to another writer is retried this many times in all,
# after a jittered pause that doubles from _RETRY_PAUSE seconds; each retry is logged.
COMMIT_ATTEMPTS = 8
_RETRY_PAUSE = 0.5
LOST_RACE = "another writer committed first"
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


class DeltaSparkTable(SparkTable):
    """What Delta tables share wherever they are: key-replacing commits, optimize, time travel."""

    table_format = "delta"
    _created = False  # set once this writer has seen (or made) the table

    def optimize(self, retain_hours: int) -> dict[str, object]:
        """Compact small files (Z-ordered by ``cluster_by``), then vacuum unreferenced ones.

        Each partition's files are compacted on their own; ``cluster_by`` columns the
        table is partitioned by are left out of the Z-order (tables of the older layout,
        partitioned by commodity and model only, are Z-ordered by forecast date).

        Files a reader may still be using are kept: only files unreferenced for longer than
        ``retain_hours`` are deleted (Delta refuses less than its 7-day default).
        """
        target = self._sql_name
        try:
            # Z-ordering applies within a partition: a column the table partitions by is out.
            partitioned = self.spark.sql(f"DESCRIBE DETAIL {target}").collect()[0]
            columns = [c for c in self.spec.cluster_by if c not in partitioned["partitionColumns"]]
            order = f" ZORDER BY ({', '.join(columns)})" if columns else ""
            compacted = self.spark.sql(f"OPTIMIZE {target}{order}").collect()[0]
            self.spark.sql(f"VACUUM {target} RETAIN {retain_hours} HOURS").collect()
        except AnalysisException as error:
            if is_missing_table(error):
                raise ConfigError(f"there is no Delta table at {self.location}") from error
            raise TableError(f"cannot optimize {self.location}: {first_line(error)}") from error
        metrics = compacted["metrics"]
        return {
            "files_added": int(metrics["numFilesAdded"]),
            "files_removed": int(metrics["numFilesRemoved"]),
        }

    def _load(self, as_of: str | None) -> DataFrame:
        reader = self.spark.read.format("delta")
        if as_of is not None:
            reader = reader.option("versionAsOf" if as_of.isdigit() else "timestampAsOf", as_of)
        return self._load_from(reader)

    def _commit(self, frame: DataFrame, rows: pd.DataFrame, metadata: dict[str, object]) -> None:
        """One Delta transaction replacing the keys of ``rows``, retried on conflicts."""
        self._replace(frame, key_predicate(rows, self.spec.key), metadata)

    def _replace(self, frame: DataFrame, predicate: str, metadata: dict[str, object]) -> None:
        """Replace the rows matching ``predicate`` with ``frame``, in one retried commit."""
        user_metadata = json.dumps(metadata, sort_keys=True, default=str)
        self._retrying(
            lambda: self._save(
                frame.write.format("delta")
                .mode("overwrite")
                .option("replaceWhere", predicate)
                .option("partitionOverwriteMode", "static")
                .option("userMetadata", user_metadata)
            )
        )

    def _retrying(self, commit: Callable[[], None]) -> None:
        """Run ``commit`` (creating the table first if absent), again when another writer won.

        Raises:
            TableError: Other writers won ``COMMIT_ATTEMPTS`` times in a row.
        """
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                if not self._created:
                    if self._may_be_absent():
                        self.create()
                    self._created = True
                commit()
                return
            except Exception as error:  # a JVM error; only Delta's conflicts are retried
                if not _is_concurrent_commit(error):
                    raise
                if attempt == COMMIT_ATTEMPTS:
                    raise TableError(
                        f"cannot commit to {self.location!r}: other writers won "
                        f"{COMMIT_ATTEMPTS} times in a row ({first_line(error)})"
                    ) from error
                pause = _RETRY_PAUSE * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                logger.warning(
                    "%s: %s (%s); commit attempt %d of %d in %.1f s",
                    self.location,
                    LOST_RACE,
                    first_line(error),
                    attempt + 1,
                    COMMIT_ATTEMPTS,
                    pause,
                )
                time.sleep(pause)

    def _create_if_absent(self) -> None:
        """Delta's ``CREATE TABLE IF NOT EXISTS`` takes a path holding any file (a staged
        one) for an existing table and creates nothing; the write's own save would then
        create it without its partitioning and properties. Retried as a commit is."""
        self._retrying(lambda: None)

    def create(self) -> None:
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
            f"CREATE TABLE IF NOT EXISTS {self._sql_name} ({columns}) USING DELTA"
            f"{partitioned} TBLPROPERTIES ({options})"
        )

    @property
    @abc.abstractmethod
    def _sql_name(self) -> str:
        """How SQL names the table."""

    @abc.abstractmethod
    def _load_from(self, reader: DataFrameReader) -> DataFrame:
        """The table read by ``reader`` (Delta format, time travel set)."""

    @abc.abstractmethod
    def _save(self, writer: DataFrameWriter) -> None:
        """Run ``writer`` (Delta format, options set) against the table."""

    @abc.abstractmethod
    def _may_be_absent(self) -> bool:
        """Whether the table may not exist yet (then the first write creates it)."""


class DeltaPathTable(DeltaSparkTable):
    """A Delta table named by a path or URI: its log is read with delta-rs, without Spark."""

    def check(self) -> None:
        root = occupied_local_folder(self.location)
        if root is None:
            return
        where = f"table {self.location}"
        if not (root / "_delta_log").is_dir():
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

    def distinct_rows(
        self, columns: Sequence[str], equal: Mapping[str, Sequence[Any]]
    ) -> set[tuple[Any, ...]]:
        """From the committed snapshot, with partition and statistics pruning (delta-rs)."""
        table = delta_log.open_table(self.location)
        return set() if table is None else delta_log.distinct_rows(table, columns, equal)

    def history(self, limit: int | None = None) -> list[dict[str, object]]:
        table = delta_log.open_table(self.location)
        return [] if table is None else delta_log.history(table, limit)

    @property
    def _sql_name(self) -> str:
        return f"delta.`{self.location.replace('`', '``')}`"

    def _load_from(self, reader: DataFrameReader) -> DataFrame:
        return reader.load(self.location)

    def _save(self, writer: DataFrameWriter) -> None:
        writer.save(self.location)

    @property
    def _staging_folder(self) -> str | None:
        return staging_folder(self.location)

    def _may_be_absent(self) -> bool:
        # delta-rs answers from the log in milliseconds; Spark's CREATE TABLE IF NOT EXISTS
        # costs seconds in a fresh JVM.
        return delta_log.open_table(self.location) is None


class DeltaCatalogTable(DeltaSparkTable):
    """A Delta table the session's catalog names (``forecast.distributions``)."""

    @property
    def _kind_text(self) -> str:
        return "a catalog table"

    @property
    def _sql_name(self) -> str:
        return self.location

    def _load_from(self, reader: DataFrameReader) -> DataFrame:
        return reader.table(self.location)

    def _save(self, writer: DataFrameWriter) -> None:
        writer.saveAsTable(self.location)

    def _may_be_absent(self) -> bool:
        return True


def _is_concurrent_commit(error: BaseException) -> bool:
    """Whether ``error`` is Delta saying another writer committed first."""
    text = f"{type(error).__name__} {error}"
    return any(marker in text for marker in _CONCURRENT_MARKERS)
