"""The one place where a command opens its stores.

``StoreSettings.open()`` validates the store options and returns a ``CommandStores``,
which it also puts on click's ``ctx.obj``. Each store opens on first need and once: the
Spark session (a Delta table's keys are read without it, so a run with nothing to write
never starts a JVM), the distributions table, the MLflow registry (a run with nothing to do
never imports MLflow's model code) and the lifecycle. Heavy modules are imported there,
not by the commands.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from forecast_core.config import StoreConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from forecast_core.registry.lifecycle import ModelLifecycle
    from forecast_core.registry.store import ModelRegistry
    from forecast_core.tables.distributions import DistributionsTable


class CommandStores:
    """A command's stores, each opened on first use.

    Args:
        config: The validated store settings.

    Attributes:
        config: As given.
        startup_timings: Seconds per start-up phase (``spark_start``, and what the command
            adds) that no run summary has reported yet.
    """

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.startup_timings: dict[str, float] = {}
        self._spark: SparkSession | None = None
        self._registry: ModelRegistry | None = None
        self._lifecycle: ModelLifecycle | None = None

    def register(self) -> CommandStores:
        """Put these stores on the current click context's ``obj`` (if there is one)."""
        context = click.get_current_context(silent=True)
        if context is not None:
            context.obj = self
        return self

    def spark(self) -> SparkSession:
        """The Spark session of the configured master, jars and table format, or of the
        configured Spark Connect server (no JVM in this process)."""
        if self._spark is None:
            from forecast_core.spark import build_spark_session, connect_session

            started = time.perf_counter()
            if self.config.spark_remote is not None:
                self._spark = connect_session(self.config.spark_remote)
            else:
                self._spark = build_spark_session(
                    self.config.spark_master,
                    jars=self.config.spark_jars,
                    table_format=self.config.table_format,
                )
            self.startup_timings["spark_start"] = time.perf_counter() - started
        return self._spark

    def distributions(self, commit_metadata: dict[str, object] | None = None) -> DistributionsTable:
        """The distributions table; Spark starts only when an operation needs it.

        Args:
            commit_metadata: What each of its commits records of the writing run.
        """
        from forecast_core.tables.distributions import DistributionsTable

        return DistributionsTable(
            self.spark,
            self.config.table_location,
            self.config.table_format,
            commit_metadata=commit_metadata,
        )

    def registry(self) -> ModelRegistry:
        """The MLflow registry, where models are registered and loaded."""
        if self._registry is None:
            from forecast_core.registry.store import ModelRegistry

            self._registry = ModelRegistry(self.config.tracking_uri, self.config.artifact_root)
        return self._registry

    @property
    def registry_opened(self) -> bool:
        """Whether something has needed the registry yet."""
        return self._registry is not None

    def lifecycle(self) -> ModelLifecycle:
        """The lifecycle of the registered versions (MLflow's client only)."""
        if self._lifecycle is None:
            from forecast_core.registry.lifecycle import ModelLifecycle

            self._lifecycle = ModelLifecycle(self.config.tracking_uri)
        return self._lifecycle
