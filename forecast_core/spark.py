"""Build the Spark session the table writer uses: local by default, any master by setting."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
_DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def build_spark_session(
    master: str = DEFAULT_MASTER,
    app_name: str = "commodity-forecast",
    jars: Sequence[str] = (),
    table_format: str = "parquet",
) -> SparkSession:
    """Get or create the process's Spark session, configured for the forecast tables.

    Args:
        master: Spark master URL (``local[2]``, ``spark://...``, ``k8s://...``).
        app_name: Name shown in the Spark UI and logs.
        jars: Extra jar files (the Delta Lake jars baked into the image).
        table_format: ``delta`` adds the Delta SQL extension and catalog.

    Spark's scratch folder comes from ``SPARK_LOCAL_DIRS`` (a writable volume in pods).
    """
    log_config = resources.files("forecast_core") / "log4j2.properties"
    java_options = f"-Dlog4j2.configurationFile={log_config}"
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Fewer, larger Arrow batches and files: the table write is the largest cost.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.driver.extraJavaOptions", java_options)
    )
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    if table_format == "delta":
        for key, value in _DELTA_CONF.items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
