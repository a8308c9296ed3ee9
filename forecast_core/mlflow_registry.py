"""The model registry adapter: trained models as registered MLflow model versions.

One registered model per (commodity, model) named ``{commodity}_{model}``; each trained
model is a version tagged with ``commodity``, ``model_name``, ``model_version``,
``training_date``, ``data_cutoff_date`` and ``model_id`` (``Coffee_XGBoost_2025-01-01_v1.0``),
logged in its own run with parameters, in-sample metrics and a fan chart. A version is an
``mlflow.pyfunc`` model: ``mlflow.pyfunc.load_model(uri).predict(pd.concat([prices, weather]),
params={"forecast_date": "2025-01-15"})`` returns the sample paths.

The version records and their resolution by date are in ``model_versions``, the pyfunc
model in ``pyfunc_model``, the server health check in ``tracking_server``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from forecast_core.data.history import MarketHistory
from forecast_core.descriptions import registered_model_description, version_description
from forecast_core.errors import RegistryError, first_line
from forecast_core.lifecycle import search_versions
from forecast_core.model_versions import ModelVersionInfo, model_id, registered_model_name
from forecast_core.models.base import Forecaster
from forecast_core.names import RETIRED_TAG

# Versions registered before the split pickled forecast_core.mlflow_registry.PathSamplerModel:
# this import keeps that name loadable (tests/test_pyfunc_model.py).
from forecast_core.pyfunc_model import (
    PathSamplerModel,
    input_example,
    pip_requirements,
    signature,
)
from forecast_core.redaction import redact_credentials
from forecast_core.tracking_server import check_tracking

logger = logging.getLogger(__name__)

EXPERIMENT_PREFIX = "commodity-forecast"


class ModelRegistry:
    """Registers fitted models in MLflow and finds and loads them again.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_root: Where new experiments keep artifacts; None lets the tracking
            server decide (use a local folder with the embedded SQLite store).
    """

    def __init__(self, tracking_uri: str, artifact_root: str | None = None) -> None:
        check_tracking(tracking_uri)
        self.tracking_uri = tracking_uri
        self.safe_uri = redact_credentials(tracking_uri)  # for messages
        self.artifact_root = artifact_root
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self._experiment_ids: dict[str, str] = {}

    def list_versions(
        self, commodity: str, model_name: str, model_version: str
    ) -> list[ModelVersionInfo]:
        """Every registered version of (commodity, model, model_version), in one paged search."""
        name = registered_model_name(commodity, model_name)
        found = [
            v
            for v in self._search(f"name = '{name}' and tag.model_version = '{model_version}'")
            if "training_date" in v.tags
        ]
        aliases = self._aliases(name) if found else {}
        infos = [_version_info(v, aliases) for v in found]
        return sorted(infos, key=lambda v: (v.training_date, v.version))

    def _aliases(self, name: str) -> dict[str, int]:
        """The aliases of registered model ``name`` (``pinned``, ``champion``) -> version."""
        try:
            return {
                alias: int(number)
                for alias, number in self.client.get_registered_model(name).aliases.items()
            }
        except MlflowException as error:
            raise RegistryError(
                f"cannot read the aliases of {name} at {self.safe_uri}: {first_line(error)}"
            ) from error

    def describe_versions(self, commodity: str | None = None) -> list[dict[str, Any]]:
        """Every version of this project's registered models (of one commodity), with tags."""
        found = self._search(
            f"tag.commodity = '{commodity}'" if commodity else "tag.model_id != ''"
        )
        described = [
            {
                "name": v.name,
                "version": int(v.version),
                "run_id": v.run_id,
                "tags": dict(sorted(v.tags.items())),
            }
            for v in found
        ]
        return sorted(described, key=lambda d: (d["name"], d["version"]))

    def _search(self, query: str) -> list[Any]:
        """All model versions matching ``query``, following pages."""
        return search_versions(self.client, query, self.safe_uri)

    def register(
        self, forecaster: Forecaster, history: MarketHistory, model_version: str
    ) -> ModelVersionInfo:
        """Log ``forecaster`` in a run and register it as a new version.

        Args:
            forecaster: A fitted model.
            history: The commodity history (used for the fan chart of the training months;
                cut at the training date).
            model_version: The user's model version label (``v1.0``).
        """
        training_date = forecaster.training_date_
        if training_date is None or forecaster.data_cutoff_ is None:
            raise RegistryError(f"model {forecaster.name!r} must be fitted before registering")
        commodity = history.commodity
        identifier = model_id(commodity, forecaster.display_name, training_date, model_version)
        tags = {
            "commodity": commodity,
            "model_name": forecaster.name,
            "model_version": model_version,
            "training_date": training_date.isoformat(),
            "data_cutoff_date": forecaster.data_cutoff_.isoformat(),
            "model_id": identifier,
        }
        known = history.as_of(training_date)
        self._activate()
        try:
            experiment_id = self._experiment_id(commodity)
            # The model's own notes (a calibration fallback, ensemble weights) tag its run.
            run_tags = {**getattr(forecaster, "training_tags_", {}), **tags}
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=identifier, tags=run_tags
            ) as run:
                mlflow.log_params(
                    {
                        **{f"param_{k}": v for k, v in forecaster.params.items()},
                        "training_date": training_date,
                        "training_window_start": known.first_date,
                        "data_cutoff_date": forecaster.data_cutoff_,
                        "training_rows": len(known),
                    }
                )
                if forecaster.training_metrics_:
                    mlflow.log_metrics(forecaster.training_metrics_)
                self._log_fan_chart(forecaster, known, identifier)
                python_model = PathSamplerModel(forecaster, commodity, known.weather_features)
                example, example_params = input_example(known, training_date)
                # One path is enough to infer the output schema.
                output = python_model.predict(None, example, {**example_params, "n_paths": 1})
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=python_model,
                    signature=signature(example, output),
                    input_example=(example, example_params),
                    pip_requirements=pip_requirements(),
                )
            # register_model prints its progress to stderr; the job log has its own line.
            with contextlib.redirect_stderr(io.StringIO()):
                version = mlflow.register_model(
                    info.model_uri, registered_model_name(commodity, forecaster.name), tags=tags
                )
            self.client.update_registered_model(
                version.name, description=registered_model_description(commodity, forecaster)
            )
            self.client.update_model_version(
                version.name,
                version.version,
                description=version_description(
                    identifier,
                    training_date,
                    known.first_date,
                    forecaster.data_cutoff_,
                    len(known),
                    forecaster.training_metrics_ or {},
                ),
            )
        except MlflowException as error:
            raise RegistryError(
                f"cannot register {identifier} at {self.safe_uri}: {first_line(error)}"
            ) from error
        registered = _version_info(self.client.get_model_version(version.name, version.version))
        logger.debug(
            "registered %s as %s version %s (run %s)",
            identifier,
            version.name,
            version.version,
            run.info.run_id,
        )
        return self._keep_first_registration(registered)

    def _keep_first_registration(self, registered: ModelVersionInfo) -> ModelVersionInfo:
        """Settle a race: one version per training date, the first registered one wins.

        Two jobs that train the same slot at once both register; each then lists the
        versions of that slot, and the one that is not the lowest version deletes its own
        and uses the winner. Whatever the interleaving, exactly one version survives.
        """
        same_slot = [
            v
            for v in self.list_versions(
                registered.commodity, registered.model_name, registered.model_version
            )
            if v.training_date == registered.training_date
        ]
        winner = min(same_slot, key=lambda v: v.version, default=registered)
        if winner.version < registered.version:
            try:
                self.client.delete_model_version(registered.name, str(registered.version))
            except MlflowException as error:
                raise RegistryError(
                    f"cannot remove duplicate {registered.uri} of {winner.uri}: {first_line(error)}"
                ) from error
            logger.info(
                "%s was registered first as %s; removed duplicate %s",
                registered.model_id,
                winner.uri,
                registered.uri,
            )
        return winner

    def load(self, version: ModelVersionInfo) -> Forecaster:
        """Load the fitted model of ``version`` from this registry (never another)."""
        self._activate()
        try:
            # From a server, MLflow downloads the artifacts to a new temporary folder and
            # leaves it behind (one per load); download them to one removed once unpickled.
            with tempfile.TemporaryDirectory(prefix="forecast-model-") as folder:
                loaded = mlflow.pyfunc.load_model(version.uri, dst_path=folder)
                model = loaded.unwrap_python_model()
        except (MlflowException, OSError, EOFError, AttributeError, ModuleNotFoundError) as error:
            raise RegistryError(
                f"cannot load {version.model_id} from {version.uri}: {first_line(error)}"
            ) from error
        if not isinstance(model, PathSamplerModel):
            raise RegistryError(
                f"{version.uri} is a {type(model).__name__}, expected a PathSamplerModel"
            )
        return model.forecaster

    def _activate(self) -> None:
        """Point MLflow's fluent API (log_model, load_model) at this registry.

        The fluent API reads process-wide URIs; setting them before each use keeps two
        registries in one process (tests, tools) from loading each other's models.
        """
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)

    def _experiment_id(self, commodity: str) -> str:
        name = f"{EXPERIMENT_PREFIX}/{commodity}"
        if name in self._experiment_ids:
            return self._experiment_ids[name]
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            location = None
            if self.artifact_root:
                location = f"{self.artifact_root.rstrip('/')}/{commodity}"
            try:
                experiment_id = self.client.create_experiment(name, artifact_location=location)
            except MlflowException:  # another job created it first
                experiment = self.client.get_experiment_by_name(name)
                if experiment is None:
                    raise
                experiment_id = experiment.experiment_id
        else:
            experiment_id = experiment.experiment_id
        self._experiment_ids[name] = experiment_id
        return experiment_id

    @staticmethod
    def _log_fan_chart(forecaster: Forecaster, known: MarketHistory, identifier: str) -> None:
        """The training months and the forecast made on the training date, as a PNG."""
        # matplotlib costs half a second to import: only runs that register a model pay it.
        from forecast_core.plots import fan_chart

        training_date = forecaster.training_date_
        assert training_date is not None  # checked by register
        paths = forecaster.sample_paths(known, training_date, n_paths=500, seed=0)
        figure = fan_chart(known, paths, training_date, f"{identifier}: forecast at training")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "fan_chart.png"
            figure.savefig(path, dpi=90)
            mlflow.log_artifact(str(path))


def _version_info(version: Any, aliases: dict[str, int] | None = None) -> ModelVersionInfo:
    """A model version as the pipeline sees it; ``aliases`` are its registered model's."""
    tags = version.tags
    return ModelVersionInfo(
        name=version.name,
        version=int(version.version),
        commodity=tags.get("commodity", ""),
        model_name=tags.get("model_name", ""),
        model_version=tags.get("model_version", ""),
        training_date=dt.date.fromisoformat(tags["training_date"]),
        data_cutoff_date=dt.date.fromisoformat(tags.get("data_cutoff_date", tags["training_date"])),
        model_id=tags.get("model_id", ""),
        run_id=version.run_id or "",
        retired=tags.get(RETIRED_TAG) == "true",
        aliases=tuple(sorted(a for a, n in (aliases or {}).items() if n == int(version.version))),
    )
