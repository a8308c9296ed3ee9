"""What the MLflow UI says about a registered model and each of its versions (Markdown).

No MLflow here: the model store (``store``) sets these texts when it registers a version. A
registered model says what the model is, how often it is retrained and how to call it; a
version says what it was trained on and its in-sample figures.
"""

from __future__ import annotations

import datetime as dt

from forecast_core.data.schemas import commodity_info
from forecast_core.models.base import Forecaster
from forecast_core.names import HORIZON_DAYS
from forecast_core.registry.naming import (
    CHAMPION_ALIAS,
    PINNED_ALIAS,
    RETIRED,
    RETIRED_TAG,
    registered_model_name,
    version_uri,
)


def registered_model_description(commodity: str, forecaster: Forecaster) -> str:
    """The description of registered model ``{commodity}_{model}``."""
    info = commodity_info(commodity)
    summary = (type(forecaster).__doc__ or forecaster.name).strip().splitlines()[0]
    name = registered_model_name(commodity, forecaster.name)
    return "\n".join(
        [
            f"**{info.display_name} {forecaster.display_name}**: {summary}",
            "",
            f"Probabilistic forecasts of the {info.display_name} close ({info.unit}): "
            f"Monte Carlo sample paths over {HORIZON_DAYS} calendar days from the forecast "
            "date.",
            "",
            "**Cadence**: a version is trained at each slot of the jobs' retraining cadence "
            "(`--train-frequency`, semiannual by default) on data strictly before its "
            "training date, and serves every forecast date from then until the next "
            "version. The daily job forecasts every day.",
            "",
            f"**Service**: a version tagged `{RETIRED_TAG}={RETIRED}` never serves; the "
            f"`{PINNED_ALIAS}` alias serves daily runs instead of the newest version; "
            f"`{CHAMPION_ALIAS}` marks the commodity's best model by CRPS skill (`forecast "
            "models list`).",
            "",
            "**How to call it**: `mlflow.pyfunc.load_model("
            + f'"{version_uri(name, "<version>")}")'
            + f"` (or `@{CHAMPION_ALIAS}`), then `predict(...)` as the project's docs/registry.md "
            "shows, with a `forecast_date` parameter on or after the version's "
            "training date.",
        ]
    )


def version_description(
    model_id: str,
    training_date: dt.date,
    window_start: dt.date,
    data_cutoff: dt.date,
    training_rows: int,
    metrics: dict[str, float],
) -> str:
    """The description of one registered version: its training data and in-sample figures."""
    figures = ", ".join(f"{key} {value:.4g}" for key, value in sorted(metrics.items()))
    return "\n".join(
        [
            f"**{model_id}**",
            "",
            f"- Training date: {training_date} (serves forecast dates from then on)",
            f"- Training window: {window_start}..{data_cutoff} ({training_rows} trading days)",
            f"- Data cutoff: {data_cutoff} (the newest price it saw)",
            f"- In-sample figures: {figures or 'none'}",
        ]
    )
