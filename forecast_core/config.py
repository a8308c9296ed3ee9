"""Typed, frozen run configuration, built once at the edge (``jobs/``) and validated here.

Light on purpose: names are checked against ``names`` without importing a model, Spark
or MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from forecast_core.cadence import Cadence
from forecast_core.connect import parse_remote
from forecast_core.errors import ConfigError
from forecast_core.names import (
    DEFAULT_MODEL_VERSION,
    DEFAULT_N_PATHS,
    DEFAULT_SPARK_MASTER,
    DEFAULT_TABLE_FORMAT,
    TABLE_FORMATS,
    check_model_version,
    parse_model_names,
)
from forecast_core.registry.tracking_server import is_tracking_server

DEFAULT_HOME = Path(".forecast")
# A forecast date may follow the newest price by a long weekend plus a holiday, not more.
DEFAULT_MAX_STALENESS_DAYS = 5
DEFAULT_FLUSH_ROWS = 1_000_000


@dataclass(frozen=True)
class RunConfig:
    """What to forecast: one commodity, some models, a cadence and a model version.

    Attributes:
        commodity: Commodity key in the data (``coffee``).
        models: Registered model names, in run order.
        cadence: The training cadence.
        model_version: The user's version label, part of every key and model id.
        n_paths: Monte Carlo paths per forecast.
        seed: Base seed; each (commodity, model, date) derives its own stream from it, so
            paths do not depend on sharding or run order.
        max_staleness_days: How far the forecast date may be past the newest price.
        flush_rows: Rows buffered before one batched table write.
        use_pins: Whether a registered model's ``pinned`` version serves instead of the
            newest (daily: yes; backfill: only when asked, so history stays reproducible).
    """

    commodity: str
    models: tuple[str, ...]
    cadence: Cadence
    model_version: str = DEFAULT_MODEL_VERSION
    n_paths: int = DEFAULT_N_PATHS
    seed: int = 0
    max_staleness_days: int = DEFAULT_MAX_STALENESS_DAYS
    flush_rows: int = DEFAULT_FLUSH_ROWS
    use_pins: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", parse_model_names(self.models))
        check_model_version(self.model_version)
        if self.n_paths < 1:
            raise ConfigError(f"n_paths {self.n_paths} is not valid; expected at least 1")


@dataclass(frozen=True)
class StoreConfig:
    """Where models and forecasts live, and the Spark session that writes them.

    Attributes:
        tracking_uri: MLflow tracking and registry URI.
        artifact_root: Artifact folder for new experiments (embedded store only).
        table_location: Path, URI or catalog name of the distributions table.
        table_format: ``delta`` or ``parquet``.
        spark_master: Spark master URL.
        spark_remote: Spark Connect server (``sc://host:port``) whose session replaces a
            JVM of this process; its master and jars are then the server's.
        spark_jars: Extra jars for the session (Delta Lake).
    """

    tracking_uri: str
    artifact_root: str | None
    table_location: str
    table_format: str = DEFAULT_TABLE_FORMAT
    spark_master: str = DEFAULT_SPARK_MASTER
    spark_remote: str | None = None
    spark_jars: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.spark_remote is not None:
            parse_remote(self.spark_remote)
        if self.table_format not in TABLE_FORMATS:
            raise ConfigError(
                f"table format {self.table_format!r} is not one of {', '.join(TABLE_FORMATS)}"
            )

    @classmethod
    def embedded(cls, home: Path = DEFAULT_HOME, **overrides: object) -> StoreConfig:
        """The embedded defaults under ``home``: SQLite MLflow, local artifacts, Delta table."""
        home = home.resolve()
        defaults: dict[str, object] = {
            "tracking_uri": f"sqlite:///{home / 'mlflow.db'}",
            "artifact_root": (home / "mlartifacts").as_uri(),
            "table_location": str(home / "tables" / "distributions"),
        }
        explicit = {key: value for key, value in overrides.items() if value is not None}
        defaults.update(explicit)
        if is_tracking_server(str(defaults["tracking_uri"])) and "artifact_root" not in explicit:
            defaults["artifact_root"] = None  # the server decides where artifacts go
        return cls(**defaults)  # type: ignore[arg-type]
