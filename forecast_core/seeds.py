"""The seed rule of every forecast: one random stream per (commodity, model, date).

The pipeline and the pyfunc model both derive a forecast's stream from the base seed with
``forecast_seed``, so a registered version called by a user reproduces the table's paths.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np


def forecast_seed(
    base_seed: int, commodity: str, model_name: str, forecast_date: dt.date
) -> np.random.SeedSequence:
    """The random stream of one forecast: independent of sharding and run order."""
    return np.random.SeedSequence(
        [base_seed, zlib.crc32(f"{commodity}/{model_name}".encode()), forecast_date.toordinal()]
    )
