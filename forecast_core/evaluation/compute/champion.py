"""A commodity's champion: the model with the best CRPS skill over an evaluated span.

Pure choice, no MLflow: ``evaluate --promote`` picks with ``choose_champion`` before it
records anything, then ``registry.lifecycle.ModelLifecycle.promote`` points the
``champion`` alias at the chosen version and tags it with the evidence. The champion is a
pointer for consumers; the jobs still forecast with every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from forecast_core.errors import DataError


@dataclass(frozen=True)
class Champion:
    """The chosen model, the version to point at, and the evidence.

    Attributes:
        model_name: The model with the best CRPS skill (``xgboost``).
        model_uri: The newest version of it that the span scored (``models:/coffee_xgboost/3``).
        crps_skill: Its CRPS skill against the benchmark, pooled over the span and days.
        crps: Its mean CRPS.
        n_forecasts: Forecasts of the model scored in the span.
    """

    model_name: str
    model_uri: str
    crps_skill: float
    crps: float
    n_forecasts: int

    @property
    def version(self) -> int:
        """The registry version number of ``model_uri``."""
        return int(self.model_uri.rsplit("/", 1)[1])


def choose_champion(headline: pd.DataFrame, scored_uris: pd.DataFrame, span: str) -> Champion:
    """The best model by CRPS skill (ties: lower CRPS, then name), at its newest scored version.

    Args:
        headline: One row per model (index ``model_name``) with ``crps_skill`` and ``crps``.
        scored_uris: ``model_name, model_uri, n_forecasts`` of the scored forecasts.
        span: The evaluated span, for messages (``2024-03-01..2024-03-10``).

    Raises:
        DataError: Nothing was scored in the span, or no model has a CRPS skill (the
            benchmark was not scored).
    """
    if headline.empty or scored_uris.empty:
        raise DataError(
            f"no forecast in {span} was scored; expected realized forecasts to promote a champion"
        )
    if "crps_skill" not in headline.columns or headline["crps_skill"].isna().all():
        raise DataError(
            f"no CRPS skill over {span}: the benchmark model was not scored; expected "
            f"--models to include it to promote a champion"
        )
    ranked = sorted(
        (
            (-float(row.crps_skill), float(row.crps), str(name))
            for name, row in headline.iterrows()
            if not math.isnan(float(row.crps_skill))
        )
    )
    skill, crps, name = -ranked[0][0], ranked[0][1], ranked[0][2]
    uris = scored_uris[scored_uris["model_name"] == name]
    newest = max(uris.itertuples(index=False), key=lambda row: _version_number(row.model_uri))
    return Champion(name, str(newest.model_uri), skill, crps, int(uris["n_forecasts"].sum()))


def _version_number(model_uri: str) -> int:
    tail = model_uri.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else -1
