"""A fitted model as plain data: JSON-able values, named numpy arrays, native files, inner models.

``Forecaster.to_state()`` gives a ``ModelState`` and ``Forecaster.from_state(state)``
rebuilds the model from it through the model's constructor: a class that gains or
renames an attribute still rebuilds the states saved before (a pickle restores the
attributes of the class as it was). ``state_files`` writes a state to a folder and reads
it back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FittedState:
    """What one model's ``fit`` set, beyond what every model records.

    Attributes:
        values: JSON-able values (numbers, text, lists, dicts with text keys).
        arrays: Named numeric numpy arrays.
        files: Named files in a library's own format (``booster.ubj``: an XGBoost model).
        parts: The states of inner models (a calibrated model's base, ensemble members).
    """

    values: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    parts: dict[str, ModelState] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelState:
    """A fitted model: its registered name, parameters, training record and fitted state.

    Attributes:
        model: The registered model name (``xgboost_cal``): the class that rebuilds it.
        params: The model's parameters (JSON-able).
        training_date, data_cutoff: ``training_date_`` and ``data_cutoff_``.
        metrics, tags: ``training_metrics_`` and ``training_tags_``.
        fitted: What the model's own ``fit`` set.
    """

    model: str
    params: dict[str, Any]
    training_date: dt.date
    data_cutoff: dt.date
    metrics: dict[str, float]
    tags: dict[str, str]
    fitted: FittedState
