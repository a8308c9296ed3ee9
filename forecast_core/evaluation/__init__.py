"""Scoring forecasts against what happened: metrics, the metrics table, figures and reports.

Three groups, one job each: ``compute/`` (metrics, realized outcomes, per-forecast scores,
aggregates, the monitor's checks, the champion: no I/O), ``storage/`` (reading forecasts,
the ``forecast_metrics`` table) and ``presentation/`` (figures, the HTML report).
``runner`` computes an evaluation from the three; ``recording`` writes it: files, table
rows and the MLflow evaluation run (``registry.evaluation_runs``).

The names below are imported on first use, so ``compute/`` loads without Spark, MLflow or
matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forecast_core.evaluation.recording import EvaluationRecord, record_evaluation
    from forecast_core.evaluation.runner import (
        Evaluation,
        EvaluationConfig,
        evaluate_forecasts,
        score_span,
    )
    from forecast_core.evaluation.storage.table import (
        FORECAST_METRICS,
        MetricsTable,
        metrics_table_location,
    )

_LAZY: dict[str, str] = {
    "Evaluation": "forecast_core.evaluation.runner",
    "EvaluationConfig": "forecast_core.evaluation.runner",
    "evaluate_forecasts": "forecast_core.evaluation.runner",
    "score_span": "forecast_core.evaluation.runner",
    "EvaluationRecord": "forecast_core.evaluation.recording",
    "record_evaluation": "forecast_core.evaluation.recording",
    "FORECAST_METRICS": "forecast_core.evaluation.storage.table",
    "MetricsTable": "forecast_core.evaluation.storage.table",
    "metrics_table_location": "forecast_core.evaluation.storage.table",
}

__all__ = [
    "FORECAST_METRICS",
    "Evaluation",
    "EvaluationConfig",
    "EvaluationRecord",
    "MetricsTable",
    "evaluate_forecasts",
    "metrics_table_location",
    "record_evaluation",
    "score_span",
]


def __getattr__(name: str) -> Any:
    """Import an exported name's module on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
