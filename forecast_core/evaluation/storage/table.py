"""The ``forecast_metrics`` table: evaluation results, written by the one Spark writer.

One row per (commodity, model_name, model_version, evaluated_from, evaluated_to, metric,
horizon_day, period): the key. ``horizon_day`` 0 pools days 1..14; ``period`` is ``all``
or a month ``YYYY-MM`` of the forecast start dates. A ``NamedTable``: writes go through
the Spark table kind its location and format make it, which replaces exactly the keys
written: an evaluation rerun over the same span adds no row, and its values (more forecasts
realized since) replace the old ones.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from forecast_core.evaluation.compute.aggregate import AGGREGATE_COLUMNS
from forecast_core.names import DEFAULT_TABLE_FORMAT, is_catalog_table
from forecast_core.tables.kinds import NamedTable
from forecast_core.tables.spark_table import SparkProvider, TableSpec

# Spark schemas declare one field per line, like the distributions schema.
FORECAST_METRICS_SCHEMA = StructType(
    [
        StructField("commodity", StringType(), nullable=False),
        StructField("model_name", StringType(), nullable=False),
        StructField("model_version", StringType(), nullable=False),
        StructField("evaluated_from", DateType(), nullable=False),
        StructField("evaluated_to", DateType(), nullable=False),
        StructField("metric", StringType(), nullable=False),
        StructField("horizon_day", IntegerType(), nullable=False),
        StructField("period", StringType(), nullable=False),
        StructField("value", DoubleType(), nullable=False),
        StructField("n_scored", LongType(), nullable=False),
        StructField("evaluated_at", TimestampType(), nullable=False),
        StructField("evaluation_run_id", StringType(), nullable=True),
    ]
)
FORECAST_METRICS_KEY: tuple[str, ...] = (
    "commodity",
    "model_name",
    "model_version",
    "evaluated_from",
    "evaluated_to",
    "metric",
    "horizon_day",
    "period",
)
# One partition per evaluated model and span (a few hundred rows): a rewrite touches only
# the partitions of its own evaluation, so the rows the writer carries over stay few.
FORECAST_METRICS_PARTITIONING: tuple[str, ...] = (
    "commodity",
    "model_name",
    "model_version",
    "evaluated_from",
    "evaluated_to",
)
FORECAST_METRICS = TableSpec(
    name="forecast_metrics",
    schema=FORECAST_METRICS_SCHEMA,
    key=FORECAST_METRICS_KEY,
    partitioning=FORECAST_METRICS_PARTITIONING,
    delta_partitioning=("commodity", "model_name"),
    cluster_by=("evaluated_from",),
)
METRICS_TABLE_NAME = "forecast_metrics"


class MetricsTable(NamedTable):
    """The ``forecast_metrics`` table at ``location`` in ``table_format``."""

    def __init__(
        self,
        spark: SparkProvider,
        location: str,
        table_format: str = DEFAULT_TABLE_FORMAT,
        commit_metadata: dict[str, object] | None = None,
    ) -> None:
        """``commit_metadata`` names the writing run in every Delta commit (as for the
        distributions table); each write adds its MLflow evaluation run."""
        super().__init__(spark, location, table_format, FORECAST_METRICS, commit_metadata)

    def new_keys(self, rows: pd.DataFrame) -> int:
        """How many rows of ``rows`` have a key the table does not hold yet.

        Args:
            rows: Rows of one evaluation (one commodity, version and span).

        Returns:
            The count of rows a write would add (the others replace rows already there).
        """
        if rows.empty:
            return 0
        first = rows.iloc[0]
        span = (
            (F.col("commodity") == first["commodity"])
            & (F.col("model_version") == first["model_version"])
            & (F.col("evaluated_from") == first["evaluated_from"])
            & (F.col("evaluated_to") == first["evaluated_to"])
        )
        present = self.keys(span)
        keys = zip(*(rows[column] for column in FORECAST_METRICS_KEY), strict=True)
        return sum(1 for key in keys if tuple(key) not in present)


def metrics_table_location(distributions_location: str) -> str:
    """The default metrics table next to the distributions table.

    ``/home/tables/distributions`` gives ``/home/tables/forecast_metrics``, ``s3a://b/x``
    gives ``s3a://b/forecast_metrics`` and the catalog table ``db.distributions`` gives
    ``db.forecast_metrics``.
    """
    if not is_catalog_table(distributions_location):
        parent = distributions_location.rstrip("/").rsplit("/", 1)[0]
        return f"{parent}/{METRICS_TABLE_NAME}"
    database, _, _ = distributions_location.rpartition(".")
    return f"{database}.{METRICS_TABLE_NAME}" if database else METRICS_TABLE_NAME


def metrics_rows(
    metrics: pd.DataFrame,
    commodity: str,
    model_version: str,
    evaluated_from: dt.date,
    evaluated_to: dt.date,
    evaluated_at: dt.datetime,
    run_id: str | None,
) -> pd.DataFrame:
    """Aggregated metrics (``AGGREGATE_COLUMNS``) as rows of the ``forecast_metrics`` schema.

    Args:
        metrics: Tidy metrics of one evaluation.
        commodity: Commodity key.
        model_version: Version label of the models scored.
        evaluated_from: First forecast start date of the evaluated span.
        evaluated_to: Last forecast start date of the evaluated span.
        evaluated_at: When the evaluation ran (stored as naive UTC).
        run_id: The MLflow evaluation run, if any.

    Returns:
        Rows in the table's column order; non-finite values are dropped (no metric).
    """
    finite = metrics[np.isfinite(metrics["value"].to_numpy(dtype=np.float64))]
    rows = finite[list(AGGREGATE_COLUMNS)].assign(
        commodity=commodity,
        model_version=model_version,
        evaluated_from=evaluated_from,
        evaluated_to=evaluated_to,
        evaluated_at=pd.Timestamp(evaluated_at).tz_convert(None)
        if pd.Timestamp(evaluated_at).tzinfo
        else pd.Timestamp(evaluated_at),
        evaluation_run_id=run_id,
    )
    rows = rows.astype({"horizon_day": np.int32, "n_scored": np.int64})
    return rows[list(FORECAST_METRICS_SCHEMA.fieldNames())].reset_index(drop=True)
