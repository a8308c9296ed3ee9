"""A ``ModelState`` as files in a folder, and back: JSON, one ``.npz`` of arrays, native files.

Layout of a folder::

    state.json     model, params, training record, values; the names of the rest
    arrays.npz     the named arrays (numpy's own format, read without pickle)
    files/<name>   files in a library's own format (an XGBoost booster)
    parts/<name>/  the folder of each inner model's state

Reading executes nothing that was saved: JSON, numeric arrays and the libraries' own
loaders only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from forecast_core.models.state import FittedState, ModelState

STATE_FILE = "state.json"
ARRAYS_FILE = "arrays.npz"
FILES_FOLDER = "files"
PARTS_FOLDER = "parts"


def write_state(state: ModelState, folder: Path) -> None:
    """Write ``state`` into ``folder`` (created; it must not hold another state)."""
    folder.mkdir(parents=True, exist_ok=True)
    fitted = state.fitted
    document: dict[str, Any] = {
        "model": state.model,
        "params": state.params,
        "training_date": state.training_date.isoformat(),
        "data_cutoff": state.data_cutoff.isoformat(),
        "metrics": state.metrics,
        "tags": state.tags,
        "values": fitted.values,
        "arrays": sorted(fitted.arrays),
        "files": sorted(fitted.files),
        "parts": sorted(fitted.parts),
    }
    (folder / STATE_FILE).write_text(json.dumps(document, indent=1, sort_keys=True))
    if fitted.arrays:
        arrays: dict[str, Any] = dict(fitted.arrays)
        np.savez(folder / ARRAYS_FILE, allow_pickle=False, **arrays)
    for name, data in fitted.files.items():
        (folder / FILES_FOLDER).mkdir(exist_ok=True)
        (folder / FILES_FOLDER / name).write_bytes(data)
    for name, part in fitted.parts.items():
        write_state(part, folder / PARTS_FOLDER / name)


def read_state(folder: Path) -> ModelState:
    """The state ``write_state`` wrote into ``folder``."""
    document = json.loads((folder / STATE_FILE).read_text())
    arrays: dict[str, np.ndarray] = {}
    if document["arrays"]:
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in document["arrays"]}
    return ModelState(
        model=document["model"],
        params=document["params"],
        training_date=dt.date.fromisoformat(document["training_date"]),
        data_cutoff=dt.date.fromisoformat(document["data_cutoff"]),
        metrics=document["metrics"],
        tags=document["tags"],
        fitted=FittedState(
            values=document["values"],
            arrays=arrays,
            files={name: (folder / FILES_FOLDER / name).read_bytes() for name in document["files"]},
            parts={name: read_state(folder / PARTS_FOLDER / name) for name in document["parts"]},
        ),
    )
