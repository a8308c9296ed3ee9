"""Registered model versions as the jobs see them: one record, resolution by date, the choice.

No MLflow here: the registry client (``client``) makes these records, the only mapping
from MLflow's; the pipeline, ``forecast models`` and the tests' in-memory fakes use them
without it. MLflow cannot compare tags with ``<=``, so a run fetches the versions of a
(commodity, model, model_version) once and resolves dates in memory (``resolve_model``,
``choose_model``).

Lifecycle (``forecast models``): a version tagged ``retired=true`` never serves; the
registered model's ``pinned`` alias makes its version serve every date it may serve
(trained on or before the date), when the run honours pins (daily does, backfill only
with ``--use-pins``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from forecast_core.data.schemas import commodity_info
from forecast_core.registry.naming import PINNED_ALIAS, version_uri


def model_id(commodity: str, display_name: str, training_date: dt.date, model_version: str) -> str:
    """The id users know a trained model by: ``Coffee_XGBoost_2025-01-01_v1.0``."""
    commodity_name = commodity_info(commodity).display_name
    return f"{commodity_name}_{display_name}_{training_date}_{model_version}"


@dataclass(frozen=True)
class RegisteredVersion:
    """One registered model version: what its tags say, and its service state.

    Attributes:
        name: The registered model (``coffee_naive``).
        version: MLflow's version number.
        commodity, model_name, model_version, training_date, data_cutoff_date, model_id:
            The registration tags (``naming``).
        run_id: The run that trained it.
        retired: Tagged ``retired=true`` by ``forecast models retire``.
        aliases: The registered model's aliases naming this version (``pinned``).
        description: Its description in the MLflow UI.
        tags: Every tag it carries, sorted by key (not compared: the fields above say
            what they mean).
    """

    name: str
    version: int
    commodity: str
    model_name: str
    model_version: str
    training_date: dt.date
    data_cutoff_date: dt.date
    model_id: str
    run_id: str
    retired: bool = False
    aliases: tuple[str, ...] = ()
    description: str = field(default="", compare=False)
    tags: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def uri(self) -> str:
        """The registry URI that loads this version (``models:/coffee_naive/3``)."""
        return version_uri(self.name, self.version)

    @property
    def status(self) -> str:
        """``retired`` or ``in service``."""
        return "retired" if self.retired else "in service"

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form of ``forecast models list/show --json``."""
        return {
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "model_id": self.model_id,
            "commodity": self.commodity,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "training_date": self.training_date.isoformat(),
            "data_cutoff_date": self.data_cutoff_date.isoformat(),
            "status": self.status,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "description": self.description,
            "tags": self.tags,
        }


def resolve_model(
    versions: list[RegisteredVersion], forecast_date: dt.date
) -> RegisteredVersion | None:
    """The most recent version with ``training_date <= forecast_date``, or None.

    Retired versions never serve. Two versions for the same training date (racing jobs)
    resolve to the lower version number: the first registered, so earlier forecasts keep
    their model.
    """
    eligible = [v for v in versions if v.training_date <= forecast_date and not v.retired]
    if not eligible:
        return None
    return max(eligible, key=lambda v: (v.training_date, -v.version))


@dataclass(frozen=True)
class ModelChoice:
    """The version that serves a forecast date, and why, when it is not the plain newest.

    Attributes:
        version: The serving version, or None if none may serve (``reason`` says why).
        reason: Empty when the newest version trained on or before the date serves;
            otherwise one line for the run log (a pin or a retirement changed the choice,
            or no version is left).
    """

    version: RegisteredVersion | None
    reason: str = ""


def choose_model(
    versions: list[RegisteredVersion], forecast_date: dt.date, use_pins: bool
) -> ModelChoice:
    """The version serving ``forecast_date``: the pin if honoured and eligible, else the newest.

    A pin serves only dates on or after its training date (never a model trained on data
    from after the date). A retired version is skipped for the next most recent one.
    """
    trained = [v for v in versions if v.training_date <= forecast_date]
    newest = resolve_model(versions, forecast_date)
    pinned = None
    if use_pins:
        pinned = next((v for v in versions if PINNED_ALIAS in v.aliases and not v.retired), None)
    if pinned is not None and pinned.training_date <= forecast_date:
        if pinned == newest:
            return ModelChoice(pinned)
        shown = newest.uri if newest else "none"
        return ModelChoice(pinned, f"pinned {pinned.uri} serves instead of {shown}")
    notes = []
    if pinned is not None:
        notes.append(
            f"pinned {pinned.uri} (trained {pinned.training_date}) is newer than "
            f"{forecast_date}: not used"
        )
    plain = max(trained, key=lambda v: (v.training_date, -v.version), default=None)
    if newest is None:
        notes.append(_nothing_serves(trained, forecast_date))
    elif plain is not None and plain != newest:
        notes.append(f"{plain.uri} is retired; falling back to {newest.uri}")
    return ModelChoice(newest, "; ".join(notes))


def _nothing_serves(trained: list[RegisteredVersion], forecast_date: dt.date) -> str:
    """Why no version serves ``forecast_date``: none trained early enough, or all retired."""
    if not trained:
        return f"no version trained on or before {forecast_date}"
    retired = ", ".join(v.uri for v in trained)
    return (
        f"every version trained on or before {forecast_date} is retired ({retired}); "
        f"expected one in service: restore one with `forecast models restore`"
    )


def last_training_date(versions: list[RegisteredVersion]) -> dt.date | None:
    """The newest training date among ``versions``, or None if there are none."""
    return max((v.training_date for v in versions), default=None)
