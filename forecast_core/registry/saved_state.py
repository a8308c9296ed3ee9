"""What a registered version holds besides MLflow's files: its model as state, in a folder.

A version's artifact ``state`` is a folder::

    version.json   the state format, the release that wrote it, the model id, the
                   commodity and weather features the served model reads
    model/         the fitted model's ``ModelState`` (``models.state_files``)

``STATE_FORMAT`` names this layout and every model's state keys; it changes when a release
can no longer read what an earlier one wrote, and ``READABLE_FORMATS`` lists what this
release reads. The version's ``state_format`` tag repeats it, so a format this release
cannot read is refused before anything is downloaded. Versions without the tag were
pickled by commodity-forecast 0.2.0 and before (``PICKLE_FORMAT``). Imports neither MLflow
nor Spark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from forecast_core import __version__
from forecast_core.errors import RegistryError
from forecast_core.models.base import Forecaster
from forecast_core.models.registry import model_from_state
from forecast_core.models.state_files import read_state, write_state

STATE_FORMAT = "state-1"
READABLE_FORMATS: tuple[str, ...] = (STATE_FORMAT,)
PICKLE_FORMAT = "pickle"  # the format of a version without the tag
STATE_ARTIFACT = "state"  # the pyfunc artifact holding the folder
VERSION_FILE = "version.json"
MODEL_FOLDER = "model"
PACKAGE = "commodity-forecast"
_PIN = re.compile(rf"^{PACKAGE}==(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ServedModel:
    """What a served version needs: the fitted model and the data it reads.

    Attributes:
        forecaster: The fitted model.
        commodity: The commodity it forecasts.
        weather_features: The weather columns of its features frame.
        model_id: ``Coffee_XGBoost_2025-01-01_v1.0``.
    """

    forecaster: Forecaster
    commodity: str
    weather_features: tuple[str, ...]
    model_id: str


def write_saved_state(served: ServedModel, folder: Path) -> None:
    """Write ``served`` into ``folder`` in ``STATE_FORMAT``."""
    write_state(served.forecaster.to_state(), folder / MODEL_FOLDER)
    version = {
        "state_format": STATE_FORMAT,
        "release": __version__,
        "model_id": served.model_id,
        "commodity": served.commodity,
        "weather_features": list(served.weather_features),
    }
    (folder / VERSION_FILE).write_text(json.dumps(version, indent=1))


def read_saved_state(folder: Path) -> ServedModel:
    """The model ``write_saved_state`` wrote into ``folder``.

    Raises:
        RegistryError: Its state format is not one this release reads (one line).
    """
    version = json.loads((folder / VERSION_FILE).read_text())
    check_state_format(version["state_format"], version["model_id"], version["release"])
    return ServedModel(
        forecaster=model_from_state(read_state(folder / MODEL_FOLDER)),
        commodity=version["commodity"],
        weather_features=tuple(version["weather_features"]),
        model_id=version["model_id"],
    )


def check_state_format(state_format: str, version: str, release: str | None) -> None:
    """Refuse, in one line, a version saved in a format this release does not read.

    Args:
        state_format: The version's format (``state-1``).
        version: The version as users know it (model id and URI).
        release: The release that registered it (its pinned requirement), if known.
    """
    if state_format in READABLE_FORMATS:
        return
    reader = f"{PACKAGE}=={release}" if release else f"the {PACKAGE} release that registered it"
    raise RegistryError(
        f"cannot load {version}: its model is saved in state format {state_format!r}, which "
        f"{PACKAGE} {__version__} does not read (it reads {', '.join(READABLE_FORMATS)}); "
        f"load it with {reader}, or train it again under a new --model-version"
    )


def pinned_release(requirements: str) -> str | None:
    """The ``commodity-forecast==X`` pin of a version's ``requirements.txt``, if any."""
    found = _PIN.search(requirements)
    return found.group(1) if found else None
