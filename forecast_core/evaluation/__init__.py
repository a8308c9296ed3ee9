"""Scoring forecasts against what happened: metrics, the metrics table, figures and reports.

Three groups, one job each: ``compute/`` (metrics, realized outcomes, per-forecast scores,
aggregates: no I/O), ``storage/`` (reading forecasts, the ``forecast_metrics`` table, the
MLflow evaluation run, recording an evaluation) and ``presentation/`` (figures, the HTML
report). ``runner`` computes an evaluation from the three.
"""

from forecast_core.evaluation.runner import (
    Evaluation,
    EvaluationConfig,
    evaluate_forecasts,
    score_span,
)
from forecast_core.evaluation.storage.recording import EvaluationRecord, record_evaluation
from forecast_core.evaluation.storage.table import (
    FORECAST_METRICS,
    MetricsTable,
    metrics_table_location,
)

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
