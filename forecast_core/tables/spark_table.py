"""What every forecast table is (``TableSpec``) and does through Spark (``SparkTable``).

A table is a path or URI (``/data/distributions``, ``s3a://bucket/distributions``) or, when
the location has no ``/`` or ``:``, a catalog table name (``forecast.distributions``), in
format ``delta`` (the default; needs the Delta Lake jars on the session) or ``parquet``.
Each combination is a kind of its own, opened by ``tables.kinds.open_spark_table``:

- ``delta_tables.DeltaPathTable`` and ``DeltaCatalogTable``: a write is one Delta
  transaction replacing exactly its keys (``delta_tables`` says how writers stay apart);
- ``parquet_tables.ParquetPathTable`` and ``ParquetCatalogTable``: a write is a dynamic
  overwrite of the partitions its rows fall in.

This base holds what they share: the session, the checks of written rows, the staging of
rows for Spark, the reads and the key query. A kind overrides how it loads, commits and
finds keys; history and optimize exist only where its format has them.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from forecast_core.errors import ConfigError, TableError, first_line
from forecast_core.names import TABLE_FORMATS
from forecast_core.spark import bound_connect_retries
from forecast_core.tables.staging import arrow_rows, staged_file

__all__ = [
    "TABLE_FORMATS",
    "SparkProvider",
    "SparkTable",
    "TableSpec",
    "date_range_condition",
    "is_connect",
]

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
        delta_partitioning: Partition columns of the Delta layout (the rest of the key
            lives in data columns with file statistics).
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


class SparkTable(abc.ABC):
    """A table described by ``spec`` at ``location``, of one kind (format and location).

    ``spark`` may be a session or a function returning one: then the session is started
    only when Spark is first needed (a Delta path's keys are read without it).
    ``commit_metadata`` identifies the writing run in every commit that can carry it.
    """

    table_format: ClassVar[str]

    def __init__(
        self,
        spark: SparkProvider,
        location: str,
        spec: TableSpec,
        commit_metadata: Mapping[str, object] | None = None,
    ) -> None:
        self._spark = spark
        self.location = location
        self.spec = spec
        self.commit_metadata = dict(commit_metadata or {})

    @functools.cached_property
    def spark(self) -> SparkSession:
        """The Spark session, started on first use if a provider was given."""
        # A provider is a function; a session (classic or Spark Connect) is not callable.
        return self._spark() if callable(self._spark) else self._spark

    def check(self) -> None:
        """Refuse a location that holds a table of another format or schema, before writing.

        A catalog keeps its tables' format and schema itself: nothing to check here.

        Raises:
            ConfigError: One line naming the location and what was found there.
        """
        return

    def read(self, as_of: str | None = None) -> DataFrame | None:
        """The whole table in schema order, or None if it does not exist.

        Args:
            as_of: Delta only: a table version (``12``) or a timestamp
                (``2025-11-14`` or ``2025-11-14T06:00:00``) to read the table as it was.
        """
        try:
            frame = self._load(as_of).select(*self.spec.columns)
            # A Spark Connect session analyses a plan only when asked: ask here, so that a
            # missing table is found now, as a classic session finds it at load.
            frame.schema  # noqa: B018
            return frame
        except AnalysisException as error:
            if is_missing_table(error) and as_of is None:
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

    def distinct_rows(
        self, columns: Sequence[str], equal: Mapping[str, Sequence[Any]]
    ) -> set[tuple[Any, ...]]:
        """Distinct values of ``columns`` among rows whose column ``c`` is in ``equal[c]``.

        A Spark query here; the path kinds answer from their log or folders instead.
        """
        table = self.read()
        if table is None:
            return set()
        where = F.lit(True)
        for column, values in equal.items():
            where = where & F.col(column).isin(list(values))
        return {tuple(row) for row in table.where(where).select(*columns).distinct().collect()}

    def history(self, limit: int | None = None) -> list[dict[str, object]]:
        """The Delta table's commits, newest first (empty if there is no table yet)."""
        raise ConfigError(
            f"table history needs a Delta table named by a path; {self.location} is "
            f"{self._kind_text}"
        )

    def optimize(self, retain_hours: int) -> dict[str, object]:
        """Compact small files, then vacuum files unreferenced for ``retain_hours`` (Delta)."""
        raise ConfigError(f"optimize needs a Delta table; {self.location} is Parquet")

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
        # Through Spark Connect, opening the write's session and building its frame are
        # already calls to the server: inside the one-line error handling too.
        try:
            with contextlib.ExitStack() as held:  # the session and staged rows, until done
                spark = held.enter_context(_write_session(self.spark))
                frame = self._to_spark(spark, rows, held)
                for column, expression in self.spec.derived.items():
                    frame = frame.withColumn(column, expression())
                self._commit(frame, rows, {**self.commit_metadata, **(metadata or {})})
        except TableError:
            raise
        except Exception as error:  # Spark raises JVM errors of many kinds; report one line
            raise TableError(
                f"cannot write {len(rows)} rows to {self.location!r} "
                f"({self.table_format}): {first_line(error)}"
            ) from error
        return len(rows)

    @property
    def _kind_text(self) -> str:
        """What this table is, for refusals (``Parquet``, ``a catalog table``)."""
        return "Parquet"

    @abc.abstractmethod
    def _load(self, as_of: str | None) -> DataFrame:
        """The table as Spark reads it (AnalysisException if it is missing)."""

    @abc.abstractmethod
    def _commit(self, frame: DataFrame, rows: pd.DataFrame, metadata: dict[str, object]) -> None:
        """Write ``frame`` (``rows`` as Spark rows) so that it replaces exactly its keys."""

    def _to_spark(
        self, spark: SparkSession, rows: pd.DataFrame, held: contextlib.ExitStack
    ) -> DataFrame:
        """``rows`` as a DataFrame of the table's schema, in ``spark``: a scan of the rows
        staged as a Parquet file (``tables.staging``) that ``held`` keeps until the write
        is done; by ``createDataFrame`` only where no staged file can reach Spark.

        On a local master the file goes to a folder under ``TMPDIR``; on a cluster or a
        Spark Connect server, whose executors cannot read this machine's disk, under the
        table's root (``_staging_folder``).
        """
        if _runs_in_this_process(spark):
            staged = arrow_rows(rows, self.spec.schema, self.location, self.spec.name)
            folder = held.enter_context(tempfile.TemporaryDirectory(prefix="forecast-rows-"))
        elif (remote_folder := self._staging_folder) is not None:
            staged = arrow_rows(rows, self.spec.schema, self.location, self.spec.name)
            self._create_if_absent()  # before a first write's file lands in its root
            folder = remote_folder
        else:
            return spark.createDataFrame(rows, schema=self.spec.schema)
        return spark.read.schema(self.spec.schema).parquet(
            held.enter_context(staged_file(staged, folder))
        )

    @property
    def _staging_folder(self) -> str | None:
        """Where a write stages its rows for executors off this machine (None: nowhere,
        as for a catalog table, whose root this process does not know)."""
        return None

    def _create_if_absent(self) -> None:
        """Create the table, if absent, where its format needs that before files enter its
        root (Delta); a Parquet table is only its files."""
        return


@contextlib.contextmanager
def _write_session(spark: SparkSession) -> Iterator[SparkSession]:
    """The session a write hands its rows to: ``spark``, or on Spark Connect a clone of it
    (the same settings and bounded retries), released once the write is done.

    A Connect server keeps the rows of ``createDataFrame`` until their session ends: one
    backfill session (twenty writes of a million rows, ~130 MB of heap each) ran a 4 GiB
    server out of memory. Released with its clone, each write's rows go with it.
    """
    if not is_connect(spark):
        yield spark
        return
    clone = spark.cloneSession()  # type: ignore[attr-defined]
    bound_connect_retries(clone)
    try:
        yield clone
    finally:
        # What stop() does, which a clone (built without the builder's fields) cannot run;
        # best effort as there: the server may be gone.
        with contextlib.suppress(Exception):
            clone.client.release_session()
        with contextlib.suppress(Exception):
            clone.client.close()


def _runs_in_this_process(spark: SparkSession) -> bool:
    """Whether the session's executors share this machine's disk (a ``local`` master).

    Never on a Spark Connect session: its server may be another machine or pod.
    """
    return not is_connect(spark) and (spark.sparkContext.master or "").startswith("local")


def is_connect(spark: SparkSession) -> bool:
    """Whether ``spark`` is a Spark Connect session (no JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect.")


def local_root(location: str) -> Path | None:
    """The folder of a table path on the local disk, or None (a remote URI)."""
    if "://" in location.replace("file://", ""):
        return None
    return Path(location.removeprefix("file://"))


def occupied_local_folder(location: str) -> Path | None:
    """The local folder of a table path if it holds anything (what ``check`` inspects)."""
    root = local_root(location)
    return root if root is not None and root.is_dir() and any(root.iterdir()) else None


def date_range_condition(column: str, start: dt.date | None, end: dt.date | None) -> Column:
    """``start <= column <= end``, either bound optional."""
    condition = F.lit(True)
    if start is not None:
        condition = condition & (F.col(column) >= start)
    if end is not None:
        condition = condition & (F.col(column) <= end)
    return condition


def is_missing_table(error: AnalysisException) -> bool:
    """Whether Spark says the table is not there (as opposed to unreadable)."""
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
