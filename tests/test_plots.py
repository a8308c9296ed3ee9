"""Every price axis names its unit: the fan chart of the registry and of the evaluation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecast_core.plots import fan_chart, price_label


@pytest.mark.parametrize(
    ("commodity", "unit"),
    [("coffee", "US cents/lb"), ("sugar", "US cents/lb"), ("cocoa", "USD/t")],
)
def test_the_price_axis_names_the_unit(sample_dataset, commodity, unit):
    history = sample_dataset.history(commodity)
    day = dt.date(2024, 7, 15)
    known = history.as_of(day)
    paths = np.full((10, 14), known.last_close)
    figure = fan_chart(known, paths, day, "test")
    label = figure.axes[0].get_ylabel()
    assert label == price_label(commodity)
    assert label.startswith(f"{commodity.title()} close, {unit} (ICE ")
