"""Scoring forecasts against what happened: metrics, the metrics table, figures and reports.

Modules, one job each: ``metrics`` (scores of samples against outcomes), ``realized``
(outcomes after a forecast's data cutoff), ``reading`` (forecasts from the distributions
table), ``scoring`` (one row per forecast and horizon day), ``aggregate`` (per model x
horizon day and per model x month), ``table`` (the ``forecast_metrics`` table), ``figures``,
``tracking`` (the MLflow evaluation run), ``runner`` (compute an evaluation), ``recording``
(write it: files, table rows, MLflow run) and ``report`` (one self-contained HTML page).
"""

from forecast_core.evaluation.recording import EvaluationRecord, record_evaluation
from forecast_core.evaluation.runner import (
    Evaluation,
    EvaluationConfig,
    evaluate_forecasts,
    score_span,
)
from forecast_core.evaluation.table import FORECAST_METRICS, MetricsTable, metrics_table_location

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
