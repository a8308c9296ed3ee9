"""The ensemble: a mixture of the registered models' paths, weighted by their recent CRPS.

``fit`` fits every member on the training data, backtests each member the way calibration
does (``backtest.rolling_origin``: refits before the training date, origins whose whole
horizon is realized before it) and scores the backtest with the evaluation's CRPS
(``crps.crps_samples``, the fair estimator). A member's weight is
proportional to the inverse of its mean CRPS over every backtest origin and step.
Sampling draws ``round(weight * n_paths)`` paths from each member (largest remainders,
ties to the earlier member), each member from its own generator seeded from the date's.

Nothing after the training date is read, so a window's weights are fixed with its model
and shards stay independent. With too little history for ``fit_min_origins`` origins of
every member, the weights are equal and ``training_tags_["ensemble"]`` says ``fallback``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from forecast_core.crps import crps_samples
from forecast_core.data.history import MarketHistory
from forecast_core.errors import ConfigError
from forecast_core.models.backtest import rolling_origin
from forecast_core.models.base import Forecaster
from forecast_core.models.calibration import FIT_PARAMS, TEST_FIT_PARAMS, backtest_plan
from forecast_core.models.registry import build_model, get_model_class, model_from_state
from forecast_core.models.state import FittedState

DEFAULT_MEMBERS = "naive,random_walk,sarimax,xgboost"
TEST_MEMBERS = "naive,random_walk,xgboost"


class EnsembleForecaster(Forecaster):
    """Mixture of member models' paths; see the module docstring.

    ``fit`` sets ``members_`` (fitted models, in ``members`` order), ``weights_`` (summing
    to 1), the metrics ``crps_<member>`` and ``weight_<member>`` (on the version's run) and
    ``training_tags_["ensemble_weights"]``. Its state (``to_state``) is the weights and
    each member's state (the parts ``member_0``, ``member_1`` ..., in member order).
    """

    name = "ensemble"
    display_name = "Ensemble"
    min_history = max(get_model_class(m).min_history for m in DEFAULT_MEMBERS.split(","))

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"members": DEFAULT_MEMBERS, "test_members": False, **FIT_PARAMS}

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"members": TEST_MEMBERS, "test_members": True, **TEST_FIT_PARAMS}

    def member_names(self) -> list[str]:
        """The member model names, validated (an ensemble cannot hold itself)."""
        names = [n.strip() for n in str(self.params["members"]).split(",") if n.strip()]
        if not names or self.name in names:
            raise ConfigError(
                f"ensemble members {self.params['members']!r} are not valid; expected "
                f"registered models other than {self.name!r}, comma-separated"
            )
        return names

    def _member(self, name: str) -> Forecaster:
        params = get_model_class(name).test_params() if self.params["test_members"] else None
        return build_model(name, params)

    def _fit(self, known: MarketHistory) -> None:
        training_date = known.known_before or known.last_date
        names = self.member_names()
        plan = backtest_plan(self.params)
        self.members_ = [self._member(name).fit(known, training_date) for name in names]
        mean_crps = {}
        origins = []
        for name in names:
            backtest = rolling_origin(functools.partial(self._member, name), known, plan)
            origins.append(len(backtest))
            if len(backtest):
                scores = crps_samples(backtest.outcomes, backtest.paths, sample_axis=1)
                mean_crps[name] = float(scores.mean())
        minimum = int(self.params["fit_min_origins"])
        if min(origins) < minimum:
            self.weights_ = np.full(len(names), 1.0 / len(names))
            status = (
                f"fallback: equal weights, {min(origins)} realized backtest origins before "
                f"{training_date}, fewer than fit_min_origins={minimum}"
            )
        else:
            inverse = np.array([1.0 / mean_crps[name] for name in names])
            self.weights_ = inverse / inverse.sum()
            status = f"weighted by inverse mean CRPS over {min(origins)}+ backtest origins"
        self.training_tags_ = {
            "ensemble": "fallback" if status.startswith("fallback") else "weighted",
            "ensemble_note": status,
            "ensemble_weights": ",".join(
                f"{name}={weight:.4f}" for name, weight in zip(names, self.weights_, strict=True)
            ),
        }
        self.training_metrics_ = {
            **{f"crps_{name}": value for name, value in mean_crps.items()},
            **{
                f"weight_{name}": float(weight)
                for name, weight in zip(names, self.weights_, strict=True)
            },
        }

    def _fitted_state(self) -> FittedState:
        return FittedState(
            arrays={"weights": self.weights_},
            parts={f"member_{i}": member.to_state() for i, member in enumerate(self.members_)},
        )

    def _restore_fitted(self, fitted: FittedState) -> None:
        self.weights_ = fitted.arrays["weights"]
        self.members_ = [
            model_from_state(fitted.parts[f"member_{i}"]) for i in range(len(self.member_names()))
        ]

    def path_counts(self, n_paths: int) -> np.ndarray:
        """Paths drawn from each member: ``weights_ * n_paths`` rounded by largest remainder."""
        exact = self.weights_ * n_paths
        counts = np.floor(exact).astype(np.int64)
        remainders = exact - counts
        # A stable sort keeps the earlier member first among equal remainders.
        order = np.argsort(-remainders, kind="stable")
        counts[order[: n_paths - int(counts.sum())]] += 1
        return counts

    def _sample_steps_batch(
        self,
        knowns: Sequence[MarketHistory],
        n_steps: Sequence[int],
        n_paths: int,
        rngs: Sequence[np.random.Generator],
    ) -> list[np.ndarray]:
        """Each member's share of paths for every date, stacked in member order."""
        counts = self.path_counts(n_paths)
        # One seed per (date, member), drawn from the date's own generator.
        member_seeds = [rng.integers(0, 2**63, size=len(self.members_)) for rng in rngs]
        parts: list[list[np.ndarray]] = [[] for _ in knowns]
        for index, (member, count) in enumerate(zip(self.members_, counts, strict=True)):
            if count == 0:
                continue
            member_rngs = [np.random.default_rng(seeds[index]) for seeds in member_seeds]
            sampled = member._sample_steps_batch(knowns, n_steps, int(count), member_rngs)
            for date_parts, paths in zip(parts, sampled, strict=True):
                date_parts.append(paths)
        return [np.concatenate(date_parts, axis=0) for date_parts in parts]
