"""Read and write the ``distributions`` table through Spark: one writer for every format.

A table is a path or URI (``/data/distributions``, ``s3a://bucket/distributions``) or, when
the location has no ``/`` or ``:``, a catalog table name (``forecast.distributions``). Its
format is ``parquet`` (the embedded default, Spark alone) or ``delta`` (needs the Delta
Lake jars on the session). Writes are idempotent by key: the writer drops rows whose
(commodity, model_name, model_version, forecast_start_date) is already in the table and
appends the rest in one Spark write, so a rerun never duplicates and never touches rows
of other keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from forecast_core.errors import ConfigError, TableError
from forecast_core.tables.schemas import (
    DISTRIBUTIONS_COLUMNS,
    DISTRIBUTIONS_PARTITIONING,
    DISTRIBUTIONS_SCHEMA,
    TABLE_FORMATS,
)

_SUMMARY_KEYS = ("commodity", "model_name", "model_version", "forecast_start_date",
                 "data_cutoff_date", "training_date", "model_uri", "is_actuals")

ForecastKey = tuple[str, dt.date]  # (model_name, forecast_start_date) within a commodity/version


def has_data_leakage() -> Column:
    """True for a forecast row that saw data on or after its start, or a later-trained model."""
    forecast_start = F.col("forecast_start_date")
    saw_the_future = (F.col("data_cutoff_date") >= forecast_start) | F.coalesce(
        F.col("training_date") > forecast_start, F.lit(False))
    return ~F.col("is_actuals") & saw_the_future


class DistributionsTable:
    """The forecast distributions table at ``location`` in ``table_format``."""

    def __init__(self, spark: SparkSession, location: str, table_format: str = "parquet") -> None:
        if table_format not in TABLE_FORMATS:
            raise ConfigError(f"table format {table_format!r} is not one of "
                              f"{', '.join(TABLE_FORMATS)}")
        self.spark = spark
        self.location = location
        self.table_format = table_format
        self.is_catalog_table = "/" not in location and ":" not in location

    def read(self) -> DataFrame | None:
        """The whole table as a Spark DataFrame, or None if it does not exist yet."""
        try:
            if self.is_catalog_table:
                table = self.spark.table(self.location)
            else:
                table = self.spark.read.format(self.table_format).load(self.location)
            return table.select(*DISTRIBUTIONS_COLUMNS)
        except AnalysisException as error:
            if _is_missing_table(error):
                return None
            raise TableError(f"cannot read table {self.location!r} ({self.table_format}): "
                             f"{_first_line(error)}") from error

    def existing_keys(self, commodity: str, model_version: str, model_names: Iterable[str],
                      start: dt.date, end: dt.date) -> set[ForecastKey]:
        """The (model_name, forecast_start_date) keys already written in a date range."""
        table = self.read()
        if table is None:
            return set()
        keys = (table.where((F.col("commodity") == commodity)
                            & F.col("model_name").isin(list(model_names))
                            & F.col("model_version").isin(model_version, "actuals")
                            & F.col("forecast_start_date").between(start, end))
                .select("model_name", "forecast_start_date").distinct().collect())
        return {(row.model_name, row.forecast_start_date) for row in keys}

    def summarize(self, commodity: str | None = None, start: dt.date | None = None,
                  end: dt.date | None = None) -> list[dict[str, object]]:
        """One entry per forecast (key) held: its provenance and path count, sorted by key.

        The ``forecast inspect`` view: commodity, model_name, model_version,
        forecast_start_date, data_cutoff_date, training_date, model_uri, is_actuals,
        has_data_leakage (any path), n_paths.
        """
        table = self.read()
        if table is None:
            return []
        if commodity is not None:
            table = table.where(F.col("commodity") == commodity)
        if start is not None:
            table = table.where(F.col("forecast_start_date") >= start)
        if end is not None:
            table = table.where(F.col("forecast_start_date") <= end)
        grouped = (table.groupBy(*_SUMMARY_KEYS)
                   .agg(F.count("path_id").alias("n_paths"),
                        F.max("has_data_leakage").alias("has_data_leakage"))
                   .orderBy("commodity", "forecast_start_date", "model_name", "model_version"))
        return [row.asDict() for row in grouped.collect()]

    def write(self, rows: pd.DataFrame) -> int:
        """Append the rows of keys not yet in the table, in one Spark write.

        Args:
            rows: Rows in the table's columns (see ``tables.rows.forecasts_to_frame``) for
                one commodity; ``has_data_leakage`` is recomputed from the dates here.

        Returns:
            The number of rows written.
        """
        if rows.empty:
            return 0
        missing = [c for c in DISTRIBUTIONS_COLUMNS if c not in rows.columns]
        if missing:
            raise TableError(f"rows for {self.location!r} lack column(s) {', '.join(missing)}; "
                             f"expected the distributions schema")
        rows = self._without_existing_keys(rows[list(DISTRIBUTIONS_COLUMNS)])
        if rows.empty:
            return 0
        frame = self.spark.createDataFrame(rows, schema=DISTRIBUTIONS_SCHEMA)
        frame = frame.withColumn("has_data_leakage", has_data_leakage())
        writer = frame.write.format(self.table_format).mode("append").partitionBy(
            *DISTRIBUTIONS_PARTITIONING)
        try:
            if self.is_catalog_table:
                writer.saveAsTable(self.location)
            else:
                writer.save(self.location)
        except Exception as error:  # Spark raises JVM errors of many kinds; report one line
            raise TableError(f"cannot write {len(rows)} rows to {self.location!r} "
                             f"({self.table_format}): {_first_line(error)}") from error
        return len(rows)

    def _without_existing_keys(self, rows: pd.DataFrame) -> pd.DataFrame:
        present: set[tuple[str, str, dt.date]] = set()
        for (commodity, version), group in rows.groupby(["commodity", "model_version"]):
            dates = group["forecast_start_date"]
            keys = self.existing_keys(str(commodity), str(version), group["model_name"].unique(),
                                      min(dates), max(dates))
            present |= {(str(version), name, day) for name, day in keys}
        if not present:
            return rows
        row_keys = zip(rows["model_version"], rows["model_name"], rows["forecast_start_date"],
                       strict=True)
        keep = [key not in present for key in row_keys]
        return rows[keep]


def _is_missing_table(error: AnalysisException) -> bool:
    text = str(error)
    return any(marker in text for marker in ("PATH_NOT_FOUND", "TABLE_OR_VIEW_NOT_FOUND",
                                             "is not a Delta table", "UNABLE_TO_INFER_SCHEMA"))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
