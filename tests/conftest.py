"""Shared fixtures: the bundled sample data, loaded once per test run."""

from __future__ import annotations

import pytest

from forecast_core.data import MarketDataset, MarketHistory, load_dataset


@pytest.fixture(scope="session")
def sample_dataset() -> MarketDataset:
    """The bundled sample data set (real ICE prices and ERA5 weather)."""
    return load_dataset()


@pytest.fixture(scope="session")
def coffee_history(sample_dataset: MarketDataset) -> MarketHistory:
    """The full bundled coffee history with weather features."""
    return sample_dataset.history("coffee")
