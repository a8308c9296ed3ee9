"""Choosing a commodity's champion from an evaluation's headline: the rule and its refusals."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from forecast_core.errors import DataError
from forecast_core.evaluation.compute.champion import choose_champion

SPAN = "2024-03-01..2024-03-10"


def _headline(**skill_and_crps: tuple[float, float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{"model_name": n, "crps_skill": s, "crps": c} for n, (s, c) in skill_and_crps.items()]
    )
    return frame.set_index("model_name")


URIS = pd.DataFrame(
    {
        "model_name": ["naive", "xgboost", "xgboost", "xgboost"],
        "model_uri": [
            "models:/coffee_naive/1",
            "models:/coffee_xgboost/2",
            "models:/coffee_xgboost/10",
            "models:/coffee_xgboost/9",
        ],
        "n_forecasts": [10, 3, 4, 3],
    }
)


def test_the_best_skill_wins_at_its_newest_scored_version():
    champion = choose_champion(_headline(naive=(0.05, 2.0), xgboost=(0.12, 1.8)), URIS, SPAN)
    assert (champion.model_name, champion.model_uri, champion.version) == (
        "xgboost",
        "models:/coffee_xgboost/10",
        10,
    )
    assert champion.crps_skill == 0.12 and champion.n_forecasts == 10


def test_a_tie_in_skill_goes_to_the_lower_crps():
    champion = choose_champion(_headline(naive=(0.1, 1.5), xgboost=(0.1, 1.8)), URIS, SPAN)
    assert champion.model_name == "naive"


def test_nothing_scored_is_refused():
    with pytest.raises(DataError, match="no forecast in 2024-03-01..2024-03-10 was scored"):
        choose_champion(pd.DataFrame(columns=["crps_skill", "crps"]), URIS.iloc[:0], SPAN)


def test_no_skill_without_the_benchmark_is_refused():
    with pytest.raises(DataError, match="no CRPS skill over .* the benchmark model was not scored"):
        choose_champion(_headline(naive=(math.nan, 2.0)), URIS, SPAN)
