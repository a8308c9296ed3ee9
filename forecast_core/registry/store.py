"""The model store of the pipeline: trained models as registered MLflow model versions.

One registered model per (commodity, model) named ``{commodity}_{model}``; each trained
model is a version tagged with ``commodity``, ``model_name``, ``model_version``,
``training_date``, ``data_cutoff_date``, ``model_id`` (``Coffee_XGBoost_2025-01-01_v1.0``)
and ``state_format``, logged in its own run with parameters, in-sample metrics and a fan
chart. A version is an ``mlflow.pyfunc`` model logged from code (``pyfunc``), its fitted
model saved as state (``saved_state``): ``mlflow.pyfunc.load_model(uri).predict(pd.concat(
[prices, weather]), params={"forecast_date": "2025-01-15"})`` returns the sample paths.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from forecast_core.data.history import MarketHistory
from forecast_core.errors import ConfigError, ModelError, RegistryError, first_line
from forecast_core.models.base import Forecaster
from forecast_core.registry.client import RegistryClient
from forecast_core.registry.descriptions import registered_model_description, version_description
from forecast_core.registry.naming import (
    COMMODITY_TAG,
    DATA_CUTOFF_DATE_TAG,
    MODEL_ID_TAG,
    MODEL_NAME_TAG,
    MODEL_VERSION_TAG,
    STATE_FORMAT_TAG,
    TRAINING_DATE_TAG,
    registered_model_name,
    training_experiment,
)
from forecast_core.registry.pyfunc import (
    SERVED_MODEL_CODE,
    PathSamplerModel,
    input_example,
    pip_requirements,
    signature,
)
from forecast_core.registry.saved_state import (
    PACKAGE,
    PICKLE_FORMAT,
    READABLE_FORMATS,
    STATE_ARTIFACT,
    STATE_FORMAT,
    ServedModel,
    check_state_format,
    pinned_release,
    write_saved_state,
)
from forecast_core.registry.versions import RegisteredVersion, model_id

logger = logging.getLogger(__name__)


class ModelRegistry:
    """Registers fitted models in MLflow and finds and loads them again (a ``ModelStore``).

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_root: Where new experiments keep artifacts; None lets the tracking
            server decide (use a local folder with the embedded SQLite store).

    Attributes:
        client: The registry's client (its ``mlflow`` attribute is MLflow's own).
    """

    def __init__(self, tracking_uri: str, artifact_root: str | None = None) -> None:
        self.client = RegistryClient(tracking_uri, artifact_root)
        self._experiment_ids: dict[str, str] = {}

    def list_versions(
        self, commodity: str, model_name: str, model_version: str
    ) -> list[RegisteredVersion]:
        """Every registered version of (commodity, model, model_version), in one paged search."""
        name = registered_model_name(commodity, model_name)
        found = self.client.search(
            f"name = '{name}' and tag.{MODEL_VERSION_TAG} = '{model_version}'"
        )
        return sorted(found, key=lambda v: (v.training_date, v.version))

    def register(
        self, forecaster: Forecaster, history: MarketHistory, model_version: str
    ) -> RegisteredVersion:
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
            COMMODITY_TAG: commodity,
            MODEL_NAME_TAG: forecaster.name,
            MODEL_VERSION_TAG: model_version,
            TRAINING_DATE_TAG: training_date.isoformat(),
            DATA_CUTOFF_DATE_TAG: forecaster.data_cutoff_.isoformat(),
            MODEL_ID_TAG: identifier,
            STATE_FORMAT_TAG: STATE_FORMAT,
        }
        name = registered_model_name(commodity, forecaster.name)
        known = history.as_of(training_date)
        experiment_id = self._experiment_id(commodity)
        self._activate()
        try:
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
                served = ServedModel(forecaster, commodity, known.weather_features, identifier)
                with tempfile.TemporaryDirectory(prefix="forecast-state-") as folder:
                    state = Path(folder) / STATE_ARTIFACT
                    write_saved_state(served, state)
                    info = mlflow.pyfunc.log_model(
                        name="model",
                        python_model=str(SERVED_MODEL_CODE),
                        artifacts={STATE_ARTIFACT: str(state)},
                        signature=signature(example, output),
                        input_example=(example, example_params),
                        pip_requirements=pip_requirements(),
                    )
            # register_model prints its progress to stderr; the job log has its own line.
            with contextlib.redirect_stderr(io.StringIO()):
                version = mlflow.register_model(info.model_uri, name, tags=tags)
            self.client.mlflow.update_registered_model(
                name, description=registered_model_description(commodity, forecaster)
            )
            self.client.mlflow.update_model_version(
                name,
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
                f"cannot register {identifier} at {self.client.safe_uri}: {first_line(error)}"
            ) from error
        registered = self.client.version(name, version.version)
        if registered is None:  # deleted by someone else in the meantime
            raise RegistryError(
                f"cannot register {identifier} at {self.client.safe_uri}: {name} version "
                f"{version.version} was deleted right after its registration"
            )
        logger.debug(
            "registered %s as %s version %s (run %s)",
            identifier,
            name,
            version.version,
            run.info.run_id,
        )
        return self._keep_first_registration(registered)

    def _keep_first_registration(self, registered: RegisteredVersion) -> RegisteredVersion:
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
            self.client.write(
                lambda mlflow: mlflow.delete_model_version(
                    registered.name, str(registered.version)
                ),
                f"remove duplicate {registered.uri} of {winner.uri}",
            )
            logger.info(
                "%s was registered first as %s; removed duplicate %s",
                registered.model_id,
                winner.uri,
                registered.uri,
            )
        return winner

    def load(self, version: RegisteredVersion) -> Forecaster:
        """Load the fitted model of ``version`` from this registry (never another).

        A version is rebuilt from its saved state; one without a ``state_format`` tag (pickled
        by 0.2.0 and before) is unpickled as then.

        Raises:
            RegistryError: One line: the version cannot be read from this registry, or its
                state format is not one this release reads (naming the release that does).
        """
        state_format = version.tags.get(STATE_FORMAT_TAG, PICKLE_FORMAT)
        if state_format not in (*READABLE_FORMATS, PICKLE_FORMAT):
            where = f"{version.model_id} ({version.uri})"
            check_state_format(state_format, where, self._pinned_release(version))
        self._activate()
        try:
            # From a server, MLflow downloads the artifacts to a new temporary folder and
            # leaves it behind (one per load); download them to one removed once loaded.
            with tempfile.TemporaryDirectory(prefix="forecast-model-") as folder:
                loaded = mlflow.pyfunc.load_model(version.uri, dst_path=folder)
                model = loaded.unwrap_python_model()
        except (
            MlflowException,
            OSError,
            EOFError,
            AttributeError,
            ModuleNotFoundError,
            KeyError,
            ValueError,
            ConfigError,
            ModelError,
        ) as error:
            pickled = (
                f" (pickled by {PACKAGE} 0.2.0 or before: load it with the release it pins, "
                "or train it again under a new --model-version)"
                if state_format == PICKLE_FORMAT
                else ""
            )
            raise RegistryError(
                f"cannot load {version.model_id} from {version.uri}: {first_line(error)}{pickled}"
            ) from error
        if not isinstance(model, PathSamplerModel):
            raise RegistryError(
                f"{version.uri} is a {type(model).__name__}, expected a PathSamplerModel"
            )
        return model.fitted()

    def _pinned_release(self, version: RegisteredVersion) -> str | None:
        """The release ``version`` pins in its requirements (None if it cannot be read)."""
        self._activate()
        try:
            with tempfile.TemporaryDirectory(prefix="forecast-requirements-") as folder:
                path = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{version.uri}/requirements.txt", dst_path=folder
                )
                return pinned_release(Path(path).read_text())
        except (MlflowException, OSError):
            return None

    def _activate(self) -> None:
        """Point MLflow's fluent API (log_model, load_model) at this registry.

        The fluent API reads process-wide URIs; setting them before each use keeps two
        registries in one process (tests, tools) from loading each other's models.
        """
        mlflow.set_tracking_uri(self.client.tracking_uri)
        mlflow.set_registry_uri(self.client.tracking_uri)

    def _experiment_id(self, commodity: str) -> str:
        """The training experiment of ``commodity`` (looked up once per registry)."""
        if commodity not in self._experiment_ids:
            self._experiment_ids[commodity] = self.client.experiment_id(
                training_experiment(commodity), commodity
            )
        return self._experiment_ids[commodity]

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
