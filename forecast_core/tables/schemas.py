"""The Spark schema, keys and partitioning of the forecast table, declared once.

``distributions`` keeps the columns of the table this project replaces, plus
``model_name``, ``training_date`` and ``model_uri``; the columns and their order are
``forecasts.DISTRIBUTIONS_COLUMNS`` (no Spark), typed here. ``has_data_leakage`` is
computed by the writer from the dates, never given.
"""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from forecast_core.forecasts import DAY_COLUMNS, DISTRIBUTIONS_COLUMNS

_TYPES: dict[str, DataType] = {
    "path_id": IntegerType(),
    "forecast_start_date": DateType(),
    "data_cutoff_date": DateType(),
    "generation_timestamp": TimestampType(),
    "model_version": StringType(),
    "commodity": StringType(),
    **{day: DoubleType() for day in DAY_COLUMNS},
    "is_actuals": BooleanType(),
    "has_data_leakage": BooleanType(),
    "model_name": StringType(),
    "training_date": DateType(),
    "model_uri": StringType(),
}
_NULLABLE = ("training_date", "model_uri")  # none for actuals rows

DISTRIBUTIONS_SCHEMA = StructType(
    [StructField(name, _TYPES[name], nullable=name in _NULLABLE) for name in DISTRIBUTIONS_COLUMNS]
)
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
# A forecast is identified by these; a write replaces exactly the keys it holds.
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
