"""The MLflow evaluation run: metrics, artifacts, and links to the model versions scored.

One run per evaluation, in the experiment ``commodity-forecast/<commodity>/evaluation``
(kept apart from the training runs). The run is linked to what it scored by tags
``scored_model_uris.<model>`` (``models:/coffee_naive/1,...``) and the artifact
``scored_models.json``, which names each registered version, its model id, training date
and training run, as the registry describes them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

from forecast_core.errors import RegistryError, first_line
from forecast_core.evaluation.compute.aggregate import ALL_DAYS, ALL_PERIODS
from forecast_core.registry.client import RegistryClient
from forecast_core.registry.naming import COMMODITY_TAG, MODEL_VERSION_TAG, evaluation_experiment
from forecast_core.registry.store import ModelRegistry
from forecast_core.registry.versions import RegisteredVersion

# Per-horizon metrics logged as MLflow metric histories (step = horizon day).
HORIZON_METRICS: tuple[str, ...] = ("crps", "crps_skill", "coverage_80", "coverage_95")
# MLflow's limit on a tag value; longer URI lists are only in scored_models.json.
_MAX_TAG_CHARS = 8000


@dataclass(frozen=True)
class ScoredModel:
    """A model URI whose forecasts an evaluation scored, with its registry entry if found.

    Attributes:
        model_name: The model (``naive``).
        model_uri: The URI the table records (``models:/coffee_naive/1``).
        n_forecasts: How many of its forecasts were scored.
        registered: The registered version with that URI, or None if the registry has none.
    """

    model_name: str
    model_uri: str
    n_forecasts: int
    registered: RegisteredVersion | None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description."""
        entry: dict[str, object] = {
            "model_name": self.model_name,
            "model_uri": self.model_uri,
            "n_forecasts": self.n_forecasts,
            "registered": self.registered is not None,
        }
        if self.registered is not None:
            entry.update(
                registered_model=self.registered.name,
                version=self.registered.version,
                model_id=self.registered.model_id,
                training_date=self.registered.training_date.isoformat(),
                data_cutoff_date=self.registered.data_cutoff_date.isoformat(),
                training_run_id=self.registered.run_id,
            )
        return entry


def link_scored_models(
    scored_uris: pd.DataFrame, registry: ModelRegistry, commodity: str, model_version: str
) -> list[ScoredModel]:
    """Match the model URIs of scored forecasts to registered versions.

    Args:
        scored_uris: ``model_name, model_uri, n_forecasts`` per URI scored.
        registry: The model registry (one version search per model).
        commodity: Commodity key.
        model_version: Version label of the models.

    Returns:
        One entry per URI, sorted by model and registered version number.
    """
    linked = []
    for model_name, rows in scored_uris.groupby("model_name", sort=True):
        versions = {
            v.uri: v for v in registry.list_versions(commodity, str(model_name), model_version)
        }
        for row in rows.itertuples(index=False):
            linked.append(
                ScoredModel(
                    str(model_name),
                    str(row.model_uri),
                    int(row.n_forecasts),
                    versions.get(row.model_uri),
                )
            )
    # Version numbers in numeric order (2 before 10); unregistered URIs last.
    return sorted(
        linked,
        key=lambda s: (
            s.model_name,
            s.registered is None,
            s.registered.version if s.registered else 0,
            s.model_uri,
        ),
    )


def evaluation_experiment_id(client: RegistryClient, commodity: str) -> str:
    """The id of the evaluation experiment of ``commodity``, created on first use.

    Raises:
        RegistryError: MLflow cannot create or find the experiment.
    """
    return client.experiment_id(evaluation_experiment(commodity), f"{commodity}-evaluation")


def start_evaluation_run(
    registry: ModelRegistry, commodity: str, run_name: str, tags: dict[str, str]
) -> str:
    """Create the evaluation run and return its id.

    Raises:
        RegistryError: MLflow refused the run.
    """
    experiment_id = evaluation_experiment_id(registry.client, commodity)
    run = registry.client.write(
        lambda mlflow: mlflow.create_run(experiment_id, run_name=run_name, tags=tags),
        f"create evaluation run {run_name!r}",
    )
    return str(run.info.run_id)


def run_tags(
    commodity: str,
    model_version: str,
    evaluated_from: dt.date,
    evaluated_to: dt.date,
    model_names: Sequence[str],
    benchmark: str | None,
    scored: Sequence[ScoredModel],
) -> dict[str, str]:
    """Tags that describe and link an evaluation run (URI lists per model)."""
    tags = {
        COMMODITY_TAG: commodity,
        MODEL_VERSION_TAG: model_version,
        "evaluated_from": evaluated_from.isoformat(),
        "evaluated_to": evaluated_to.isoformat(),
        "models": ",".join(model_names),
        "benchmark": benchmark or "",
        "run_kind": "evaluation",
    }
    for name in model_names:
        uris = ",".join(s.model_uri for s in scored if s.model_name == name)
        if len(uris) > _MAX_TAG_CHARS:
            uris = "too many to list here; see the artifact scored_models.json"
        tags[f"scored_model_uris.{name}"] = uris
    return tags


def log_evaluation(
    registry: ModelRegistry,
    run_id: str,
    metrics: pd.DataFrame,
    params: dict[str, str],
    artifacts: Sequence[Path],
) -> None:
    """Log the metrics (whole span per model; per horizon day as steps), params and files.

    Args:
        registry: The registry whose client logs.
        run_id: The evaluation run.
        metrics: Tidy metrics (``aggregate.AGGREGATE_COLUMNS``).
        params: Run parameters (strings).
        artifacts: Files to attach.

    Raises:
        RegistryError: MLflow refused a batch or a file.
    """
    now_ms = int(time.time() * 1000)
    whole = metrics[metrics["period"] == ALL_PERIODS]
    entries = []
    for row in whole.itertuples(index=False):
        if row.horizon_day == ALL_DAYS:
            entries.append(Metric(f"{row.model_name}/{row.metric}", float(row.value), now_ms, 0))
        elif row.metric in HORIZON_METRICS:
            entries.append(
                Metric(
                    f"{row.model_name}/{row.metric}_by_horizon",
                    float(row.value),
                    now_ms,
                    int(row.horizon_day),
                )
            )
    param_entries = [Param(key, value) for key, value in params.items()]
    client = registry.client.mlflow
    try:
        for first in range(0, len(entries), MAX_METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=entries[first : first + MAX_METRICS_PER_BATCH])
        for first in range(0, len(param_entries), MAX_PARAMS_TAGS_PER_BATCH):
            client.log_batch(
                run_id, params=param_entries[first : first + MAX_PARAMS_TAGS_PER_BATCH]
            )
        for path in artifacts:
            client.log_artifact(run_id, str(path))
    except (MlflowException, OSError) as error:
        raise RegistryError(f"cannot log evaluation run {run_id}: {first_line(error)}") from error


def finish_run(registry: ModelRegistry, run_id: str, ok: bool) -> None:
    """Mark the run FINISHED or FAILED (best effort: the result is already logged)."""
    try:
        registry.client.mlflow.set_terminated(run_id, "FINISHED" if ok else "FAILED")
    except MlflowException:
        return


def write_scored_models(scored: Sequence[ScoredModel], path: Path) -> Path:
    """Write ``scored_models.json`` (the full link list) and return its path."""
    path.write_text(json.dumps([s.to_dict() for s in scored], indent=2) + "\n")
    return path
