"""Every name this project writes to MLflow, defined once: tags, aliases, models, experiments.

Users' registries hold these names: registered versions are found by their tags, and
``forecast models`` moves the aliases. Renaming one here would orphan every version
registered before; they are part of the stored format. Imports nothing (the CLI imports
this module at start).

A registered version carries ``commodity``, ``model_name``, ``model_version``,
``training_date``, ``data_cutoff_date``, ``model_id`` and ``state_format`` from its
registration, and
``retired``/``retired_reason`` and the ``champion_*`` tags from the lifecycle commands.
"""

from __future__ import annotations

# Version tags set at registration.
COMMODITY_TAG = "commodity"
MODEL_NAME_TAG = "model_name"
MODEL_VERSION_TAG = "model_version"  # the user's label (v1.0), not MLflow's version number
TRAINING_DATE_TAG = "training_date"
DATA_CUTOFF_DATE_TAG = "data_cutoff_date"
MODEL_ID_TAG = "model_id"  # Coffee_XGBoost_2025-01-01_v1.0; every version of ours has one
# How the version's model is saved (registry.saved_state); none on versions pickled by 0.2.0
# and before.
STATE_FORMAT_TAG = "state_format"

# Version tags of the lifecycle (``forecast models``, ``evaluate --promote``).
RETIRED_TAG = "retired"  # RETIRED on a version taken out of service
RETIRED = "true"
RETIRED_REASON_TAG = "retired_reason"
CHAMPION_TAG_PREFIX = "champion"  # every champion tag starts so: promotion moves them all
CHAMPION_OF_TAG = "champion_of"  # the commodity, on its champion's version: one search finds it
# The evidence of a promotion, on the champion's version.
CHAMPION_CRPS_SKILL_TAG = "champion_crps_skill"
CHAMPION_CRPS_TAG = "champion_crps"
CHAMPION_N_FORECASTS_TAG = "champion_n_forecasts"
CHAMPION_SPAN_TAG = "champion_span"
CHAMPION_EVALUATION_RUN_TAG = "champion_evaluation_run_id"
CHAMPION_PROMOTED_AT_TAG = "champion_promoted_at"

# Registered-model aliases; MLflow's form is ``^[\w-]+$``.
PINNED_ALIAS = "pinned"  # the version daily runs use instead of the newest
CHAMPION_ALIAS = "champion"  # the commodity's best model by CRPS skill (a pointer only)

EXPERIMENT_PREFIX = "commodity-forecast"


def registered_model_name(commodity: str, model_name: str) -> str:
    """The registered model holding every version of ``model_name`` for ``commodity``."""
    return f"{commodity}_{model_name}"


def version_uri(registered_model: str, version: int | str) -> str:
    """The registry URI that loads a version (``models:/coffee_naive/3``)."""
    return f"models:/{registered_model}/{version}"


def training_experiment(commodity: str) -> str:
    """The experiment of the runs that train ``commodity``'s models."""
    return f"{EXPERIMENT_PREFIX}/{commodity}"


def evaluation_experiment(commodity: str) -> str:
    """The experiment of ``commodity``'s evaluation and monitor runs (apart from training)."""
    return f"{EXPERIMENT_PREFIX}/{commodity}/evaluation"
