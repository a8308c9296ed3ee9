"""The forecast tables: schemas, row building, and the Spark reader/writer."""

from forecast_core.tables.distributions import DistributionsTable
from forecast_core.tables.rows import Forecast, actuals_forecast, forecasts_to_frame
from forecast_core.tables.schemas import DISTRIBUTIONS_SCHEMA, HORIZON_DAYS
from forecast_core.tables.spark_table import TABLE_FORMATS, SparkTable, TableSpec

__all__ = [
    "DISTRIBUTIONS_SCHEMA",
    "HORIZON_DAYS",
    "TABLE_FORMATS",
    "DistributionsTable",
    "Forecast",
    "SparkTable",
    "TableSpec",
    "actuals_forecast",
    "forecasts_to_frame",
]
