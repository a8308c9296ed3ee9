"""The schema, keys and partitioning of the forecast tables, declared once.

``distributions`` keeps the columns of the table this project replaces, plus
``model_name``, ``training_date`` and ``model_uri``. One row per sample path:
``day_1`` is the price on the forecast start date, ``day_14`` thirteen calendar days later.
Actuals rows (``is_actuals``) hold what happened: ``model_name = model_version =
'actuals'``, ``path_id = 0``, written once a price on or after the horizon's last day
exists. ``has_data_leakage`` is computed by the writer from the dates, never given.
"""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from forecast_core.names import HORIZON_DAYS

DAY_COLUMNS: tuple[str, ...] = tuple(f"day_{k}" for k in range(1, HORIZON_DAYS + 1))
ACTUALS = "actuals"

DISTRIBUTIONS_SCHEMA = StructType(
    [
        StructField("path_id", IntegerType(), nullable=False),
        StructField("forecast_start_date", DateType(), nullable=False),
        StructField("data_cutoff_date", DateType(), nullable=False),
        StructField("generation_timestamp", TimestampType(), nullable=False),
        StructField("model_version", StringType(), nullable=False),
        StructField("commodity", StringType(), nullable=False),
        *[StructField(day, DoubleType(), nullable=False) for day in DAY_COLUMNS],
        StructField("is_actuals", BooleanType(), nullable=False),
        StructField("has_data_leakage", BooleanType(), nullable=False),
        StructField("model_name", StringType(), nullable=False),
        StructField("training_date", DateType(), nullable=True),
        StructField("model_uri", StringType(), nullable=True),
    ]
)
DISTRIBUTIONS_COLUMNS: tuple[str, ...] = tuple(DISTRIBUTIONS_SCHEMA.fieldNames())
# A forecast is identified by these; a write replaces exactly the keys it holds.
# What ``forecast inspect`` shows per forecast (with n_paths and has_data_leakage).
SUMMARY_KEYS: tuple[str, ...] = (
    "commodity",
    "model_name",
    "model_version",
    "forecast_start_date",
    "data_cutoff_date",
    "training_date",
    "model_uri",
    "is_actuals",
)
DISTRIBUTIONS_KEY: tuple[str, ...] = (
    "commodity",
    "model_name",
    "model_version",
    "forecast_start_date",
)
# One partition per forecast, in both formats: concurrent writers of different forecasts
# never touch the same folder (Parquet: a write renames whole folders into place) nor the
# same partition (Delta: its conflict check compares commits partition by partition).
DISTRIBUTIONS_PARTITIONING: tuple[str, ...] = DISTRIBUTIONS_KEY
