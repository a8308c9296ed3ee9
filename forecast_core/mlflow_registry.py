"""The model registry: trained models as registered MLflow model versions.

One registered model per (commodity, model) named ``{commodity}_{model}``; each trained
model is a version tagged with ``commodity``, ``model_name``, ``model_version``,
``training_date``, ``data_cutoff_date`` and ``model_id`` (``Coffee_XGBoost_2025-01-01_v1.0``),
logged in its own run with parameters, in-sample metrics and a fan chart. A version is an
``mlflow.pyfunc`` model: ``mlflow.pyfunc.load_model(uri).predict(history_frame,
params={"forecast_date": "2025-01-15"})`` returns the sample paths.

MLflow cannot compare tags with ``<=``, so a run fetches the versions of a (commodity,
model, model_version) once and resolves dates in memory (``resolve_model``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import logging
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from forecast_core import __version__
from forecast_core.data.history import OBSERVATION_PRICE_COLUMNS, MarketHistory
from forecast_core.data.schemas import commodity_info
from forecast_core.errors import RegistryError
from forecast_core.models.base import DEFAULT_HORIZON, DEFAULT_N_PATHS, Forecaster
from forecast_core.plots import fan_chart
from forecast_core.redaction import redact_credentials

logger = logging.getLogger(__name__)

EXPERIMENT_PREFIX = "commodity-forecast"
# Explicit requirements: MLflow's environment inference costs seconds per model.
_REQUIREMENT_DISTRIBUTIONS = ("numpy", "pandas", "statsmodels", "xgboost-cpu", "cloudpickle")
_SEARCH_PAGE_SIZE = 1000


def model_id(commodity: str, display_name: str, training_date: dt.date, model_version: str) -> str:
    """The id users know a trained model by: ``Coffee_XGBoost_2025-01-01_v1.0``."""
    commodity_name = commodity_info(commodity).display_name
    return f"{commodity_name}_{display_name}_{training_date}_{model_version}"


def registered_model_name(commodity: str, model_name: str) -> str:
    """The registered model holding every version of ``model_name`` for ``commodity``."""
    return f"{commodity}_{model_name}"


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version as the pipeline uses it."""

    name: str
    version: int
    commodity: str
    model_name: str
    model_version: str
    training_date: dt.date
    data_cutoff_date: dt.date
    model_id: str
    run_id: str

    @property
    def uri(self) -> str:
        """The registry URI that loads this version (``models:/coffee_naive/3``)."""
        return f"models:/{self.name}/{self.version}"


def resolve_model(
    versions: list[ModelVersionInfo], forecast_date: dt.date
) -> ModelVersionInfo | None:
    """The most recent version with ``training_date <= forecast_date``, or None.

    Two versions for the same training date (racing jobs) resolve to the lower version
    number: the first registered, so earlier forecasts keep their model.
    """
    eligible = [v for v in versions if v.training_date <= forecast_date]
    if not eligible:
        return None
    return max(eligible, key=lambda v: (v.training_date, -v.version))


def last_training_date(versions: list[ModelVersionInfo]) -> dt.date | None:
    """The newest training date among ``versions``, or None if there are none."""
    return max((v.training_date for v in versions), default=None)


class PathSamplerModel(mlflow.pyfunc.PythonModel):
    """The pyfunc face of a fitted ``Forecaster``: history frame in, sample paths out.

    ``predict(history, params={"forecast_date": ..., "horizon": 14, "n_paths": 2000,
    "seed": 0})`` takes a frame in the observation schema (date, open, high, low, close
    and the weather features) and returns one row per path: ``path_id, day_1 .. day_H``.
    Without ``forecast_date`` the day after the newest row is forecast.
    """

    def __init__(
        self, forecaster: Forecaster, commodity: str, weather_features: tuple[str, ...]
    ) -> None:
        self.forecaster = forecaster
        self.commodity = commodity
        self.weather_features = weather_features

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        params = params or {}
        frame = model_input.assign(date=pd.to_datetime(model_input["date"])).sort_values("date")
        history = MarketHistory(self.commodity, frame.reset_index(drop=True), self.weather_features)
        forecast_date = history.last_date + dt.timedelta(days=1)
        if params.get("forecast_date"):
            forecast_date = dt.date.fromisoformat(params["forecast_date"])
        paths = self.forecaster.sample_paths(
            history,
            forecast_date,
            int(params.get("horizon", DEFAULT_HORIZON)),
            int(params.get("n_paths", DEFAULT_N_PATHS)),
            int(params.get("seed", 0)),
        )
        days = {f"day_{k + 1}": paths[:, k] for k in range(paths.shape[1])}
        return pd.DataFrame({"path_id": np.arange(paths.shape[0]), **days})


def _signature(weather_features: tuple[str, ...]) -> ModelSignature:
    columns = [ColSpec("datetime", "date")]
    columns += [ColSpec("double", name) for name in OBSERVATION_PRICE_COLUMNS[1:]]
    columns += [ColSpec("double", name, required=False) for name in weather_features]
    return ModelSignature(
        inputs=Schema(columns),
        params=ParamSchema(
            [
                ParamSpec("forecast_date", "string", ""),
                ParamSpec("horizon", "long", DEFAULT_HORIZON),
                ParamSpec("n_paths", "long", DEFAULT_N_PATHS),
                ParamSpec("seed", "long", 0),
            ]
        ),
    )


def _pip_requirements() -> list[str]:
    requirements = [f"commodity-forecast=={__version__}", f"mlflow-skinny=={mlflow.__version__}"]
    for distribution in _REQUIREMENT_DISTRIBUTIONS:
        try:
            requirements.append(f"{distribution}=={metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            continue
    return requirements


def check_tracking_store(tracking_uri: str) -> None:
    """Fail with one line if ``tracking_uri`` is a database this MLflow cannot open.

    mlflow-skinny (the job image's MLflow) has no SQLAlchemy store, so the embedded SQLite
    default cannot work there; without this check MLflow raises a raw
    ``UnsupportedModelRegistryStoreURIException`` traceback.

    Raises:
        RegistryError: The URI names a database and MLflow's SQL store cannot be imported.
    """
    scheme = urllib.parse.urlsplit(tracking_uri).scheme.partition("+")[0]
    if scheme not in ("sqlite", "postgresql", "mysql", "mssql"):
        return
    try:
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    except ImportError as error:
        raise RegistryError(
            f"MLflow tracking URI {redact_credentials(tracking_uri)} is a database, but this "
            f"installation has no SQL store ({error.name} is missing, e.g. mlflow-skinny); "
            "set MLFLOW_TRACKING_URI or --tracking-uri to a tracking server URL (http://...)"
        ) from None


def check_tracking_server(
    tracking_uri: str, attempts: int = 3, timeout_seconds: float = 5.0, backoff_seconds: float = 1.0
) -> None:
    """Fail fast, with bounded retries, if an HTTP tracking server does not answer.

    Local stores (``sqlite:``, ``file:``, paths) need no server and are not checked.

    Raises:
        RegistryError: The server did not answer ``/health`` after ``attempts`` tries.
    """
    if not tracking_uri.startswith(("http://", "https://")):
        return
    health = _health_request(tracking_uri)
    last_error = ""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(health, timeout=timeout_seconds):
                return
        except (urllib.error.URLError, OSError) as error:
            last_error = str(getattr(error, "reason", error))
        if attempt + 1 < attempts:
            time.sleep(backoff_seconds * 2**attempt)
    raise RegistryError(
        f"MLflow tracking server {redact_credentials(tracking_uri)} is unreachable "
        f"({last_error}) after {attempts} attempts; expected a running server"
    )


def _health_request(tracking_uri: str) -> urllib.request.Request:
    """A GET of the server's /health; ``user:password@`` in the URI becomes basic auth.

    urllib cannot open a URL with credentials in it (MLflow's requests-based client can),
    so they move to a header.
    """
    parts = urllib.parse.urlsplit(tracking_uri)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    url = urllib.parse.urlunsplit(
        (parts.scheme, netloc, f"{parts.path.rstrip('/')}/health", "", "")
    )
    request = urllib.request.Request(url)
    if parts.username:
        token = base64.b64encode(
            f"{urllib.parse.unquote(parts.username)}:"
            f"{urllib.parse.unquote(parts.password or '')}".encode()
        ).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request


class ModelRegistry:
    """Registers fitted models in MLflow and finds and loads them again.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_root: Where new experiments keep artifacts; None lets the tracking
            server decide (use a local folder with the embedded SQLite store).
    """

    def __init__(self, tracking_uri: str, artifact_root: str | None = None) -> None:
        check_tracking_store(tracking_uri)
        check_tracking_server(tracking_uri)
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
        found = self._search(f"name = '{name}' and tag.model_version = '{model_version}'")
        infos = [_version_info(v) for v in found if "training_date" in v.tags]
        return sorted(infos, key=lambda v: (v.training_date, v.version))

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
        found: list[Any] = []
        page_token = None
        try:
            while True:
                page = self.client.search_model_versions(
                    query, max_results=_SEARCH_PAGE_SIZE, page_token=page_token
                )
                found.extend(page)
                page_token = page.token
                if not page_token:
                    return found
        except MlflowException as error:
            raise RegistryError(
                f"cannot search model versions ({query}) at {self.safe_uri}: {_first_line(error)}"
            ) from error

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
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=identifier, tags=tags
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
                with warnings.catch_warnings():
                    # No input example on purpose: it would cost inference time per model.
                    warnings.filterwarnings("ignore", message=".*input example was not provided")
                    info = mlflow.pyfunc.log_model(
                        name="model",
                        python_model=PathSamplerModel(
                            forecaster, commodity, known.weather_features
                        ),
                        signature=_signature(known.weather_features),
                        pip_requirements=_pip_requirements(),
                    )
            # register_model prints its progress to stderr; the job log has its own line.
            with contextlib.redirect_stderr(io.StringIO()):
                version = mlflow.register_model(
                    info.model_uri, registered_model_name(commodity, forecaster.name), tags=tags
                )
        except MlflowException as error:
            raise RegistryError(
                f"cannot register {identifier} at {self.safe_uri}: {_first_line(error)}"
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
                    f"cannot remove duplicate {registered.uri} of "
                    f"{winner.uri}: {_first_line(error)}"
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
            loaded = mlflow.pyfunc.load_model(version.uri)
            model = loaded.unwrap_python_model()
        except (MlflowException, OSError, EOFError, AttributeError, ModuleNotFoundError) as error:
            raise RegistryError(
                f"cannot load {version.model_id} from {version.uri}: {_first_line(error)}"
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
        training_date = forecaster.training_date_
        assert training_date is not None  # checked by register
        paths = forecaster.sample_paths(known, training_date, n_paths=500, seed=0)
        figure = fan_chart(known, paths, training_date, f"{identifier}: forecast at training")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "fan_chart.png"
            figure.savefig(path, dpi=90)
            mlflow.log_artifact(str(path))


def _version_info(version: Any) -> ModelVersionInfo:
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
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
