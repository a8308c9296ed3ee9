"""The MLflow record of one ``forecast monitor`` check of a commodity.

One run per check in the commodity's evaluation experiment
(``commodity-forecast/<commodity>/evaluation``), tagged ``kind=monitor``: the monitored
figures as metrics (``<model>/coverage_80``, ``price_age_days``, ``breaches``) and the
breaches as ``breaches.json``, so that the UI charts them over time.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence

from mlflow import MlflowClient
from mlflow.entities import Metric

from forecast_core.evaluation.compute.monitoring import Breach
from forecast_core.registry.evaluation_runs import evaluation_experiment_id
from forecast_core.registry.store import ModelRegistry


def log_monitor_run(
    registry: ModelRegistry,
    commodity: str,
    today: dt.date,
    figures: dict[str, dict[str, float]],
    price_age_days: int,
    breaches: Sequence[Breach],
) -> str:
    """Log one monitor check; the run id.

    Raises:
        RegistryError: MLflow cannot record the run.
    """
    experiment_id = evaluation_experiment_id(registry.client, commodity)
    stamp = int(time.time() * 1000)
    metrics = [
        Metric(f"{model}/{name}", value, stamp, 0)
        for model, values in sorted(figures.items())
        for name, value in sorted(values.items())
    ]
    metrics += [
        Metric("price_age_days", float(price_age_days), stamp, 0),
        Metric("breaches", float(len(breaches)), stamp, 0),
    ]

    def log(mlflow: MlflowClient) -> str:
        run = mlflow.create_run(
            experiment_id,
            run_name=f"monitor-{today}",
            tags={"kind": "monitor", "monitored_date": today.isoformat()},
        )
        run_id = str(run.info.run_id)
        mlflow.log_batch(run_id, metrics=metrics)
        mlflow.log_text(
            run_id, json.dumps([b.to_dict() for b in breaches], indent=2), "breaches.json"
        )
        mlflow.set_terminated(run_id)
        return run_id

    return registry.client.write(log, f"log the {commodity} monitor run")
