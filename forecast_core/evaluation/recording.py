"""Record an evaluation: files in a folder, rows in the metrics table, one MLflow run.

PNG figures and CSV/JSON files go to an output folder (and are the run's artifacts), the
metric rows to the ``forecast_metrics`` table (a rerun replaces its own keys and adds no
row), and one MLflow evaluation run (``registry.evaluation_runs``) is linked to the model
versions scored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from forecast_core.crps import CRPS_ESTIMATOR
from forecast_core.evaluation.presentation.figures import FIGURE_FILES, figure_png
from forecast_core.evaluation.runner import Evaluation
from forecast_core.evaluation.storage.table import MetricsTable, metrics_rows
from forecast_core.registry.evaluation_runs import (
    finish_run,
    link_scored_models,
    log_evaluation,
    run_tags,
    start_evaluation_run,
    write_scored_models,
)
from forecast_core.registry.store import ModelRegistry


@dataclass(frozen=True)
class EvaluationRecord:
    """Where an evaluation was recorded.

    Attributes:
        run_id: The MLflow evaluation run.
        rows_written: Metric rows written to the table (new and replaced).
        rows_new: Of those, rows whose key was not in the table yet (0 on a rerun).
        files: The files written to the output folder (also the run's artifacts).
    """

    run_id: str
    rows_written: int
    rows_new: int
    files: tuple[Path, ...]


def record_evaluation(
    evaluation: Evaluation,
    metrics_table: MetricsTable,
    registry: ModelRegistry,
    output_dir: Path,
    evaluated_at: dt.datetime,
) -> EvaluationRecord:
    """Write an evaluation: files, metric rows (idempotent) and one MLflow run.

    Args:
        evaluation: The computed evaluation.
        metrics_table: The ``forecast_metrics`` table.
        registry: The model registry (links the run to the versions scored).
        output_dir: Folder for the PNG figures and CSV/JSON files (created if needed).
        evaluated_at: When the evaluation ran (the row timestamp).

    Returns:
        The run id, the row counts and the files written. A rerun over the same span
        replaces its rows (same keys) and adds none.

    Raises:
        RegistryError: MLflow failed (the run is marked FAILED if it exists).
        TableError: The metric rows could not be written (the run is marked FAILED).
    """
    config = evaluation.config
    output_dir.mkdir(parents=True, exist_ok=True)
    scored = link_scored_models(
        evaluation.scored_uris, registry, config.commodity, config.model_version
    )
    files = [
        *_write_figures(evaluation, output_dir),
        write_scored_models(scored, output_dir / "scored_models.json"),
    ]
    # One row per forecast and horizon day (with the PIT values): 40 MB as plain CSV for 7 years.
    evaluation.scores.to_csv(output_dir / "scores.csv.gz", index=False)
    evaluation.left_out.to_csv(output_dir / "left_out.csv", index=False)
    files += [output_dir / "scores.csv.gz", output_dir / "left_out.csv"]
    benchmark = config.benchmark if evaluation.benchmark_scored else None
    run_name = f"evaluate {config.commodity} {config.evaluated_from}..{config.evaluated_to}"
    run_id = start_evaluation_run(
        registry,
        config.commodity,
        run_name,
        run_tags(
            config.commodity,
            config.model_version,
            config.evaluated_from,
            config.evaluated_to,
            config.models,
            benchmark,
            scored,
        ),
    )
    ok = False
    try:
        rows = metrics_rows(
            evaluation.metrics,
            config.commodity,
            config.model_version,
            config.evaluated_from,
            config.evaluated_to,
            evaluated_at,
            run_id,
        )
        rows.to_csv(output_dir / "metrics.csv", index=False)
        files.append(output_dir / "metrics.csv")
        new = metrics_table.new_keys(rows)
        written = metrics_table.write(rows, metadata={"evaluation_run_id": run_id})
        log_evaluation(
            registry, run_id, evaluation.metrics, _run_params(evaluation, metrics_table), files
        )
        ok = True
    finally:
        finish_run(registry, run_id, ok)
    return EvaluationRecord(run_id, written, new, tuple(files))


def _write_figures(evaluation: Evaluation, output_dir: Path) -> list[Path]:
    paths = []
    for name, figure in evaluation.figures().items():
        path = output_dir / FIGURE_FILES[name]
        path.write_bytes(figure_png(figure))
        paths.append(path)
    return paths


def _run_params(evaluation: Evaluation, metrics_table: MetricsTable) -> dict[str, str]:
    config = evaluation.config
    return {
        "commodity": config.commodity,
        "evaluated_from": config.evaluated_from.isoformat(),
        "evaluated_to": config.evaluated_to.isoformat(),
        "models": ",".join(config.models),
        "model_version": config.model_version,
        "benchmark": config.benchmark or "",
        "crps": f"scoringrules.crps_ensemble(estimator={CRPS_ESTIMATOR!r})",
        "scoringrules_version": metadata.version("scoringrules"),
        "data_last_date": evaluation.data_last_date.isoformat(),
        "fan_chart_date": evaluation.fan.forecast_date.isoformat() if evaluation.fan else "",
        "forecasts_scored": str(evaluation.n_scored),
        "metrics_table": metrics_table.location,
    }
