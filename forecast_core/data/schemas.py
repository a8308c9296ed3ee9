"""Explicit schemas of the input data and the catalogue of known commodities.

Both input tables are tidy (one observation per row) and keyed by date:

``prices`` (trading days only)
    ``date`` (datetime64[ns], the trading day), ``commodity`` (str, lower case),
    ``open``, ``high``, ``low``, ``close`` (float64, > 0, exchange units).
    Key: (commodity, date).

``weather`` (every calendar day)
    ``date`` (datetime64[ns]), ``region`` (str), ``temp_min``, ``temp_mean``, ``temp_max``
    (float64, degrees C), ``precipitation`` (float64, mm per day), ``humidity`` (float64, %,
    nullable), ``radiation`` (float64, MJ/m2 per day, nullable). Key: (region, date).
    Missing measurements are allowed (NaN); a missing day is a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_COLUMNS: tuple[str, ...] = ("date", "commodity", "open", "high", "low", "close")
PRICE_VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")

WEATHER_REQUIRED_COLUMNS: tuple[str, ...] = (
    "date",
    "region",
    "temp_min",
    "temp_mean",
    "temp_max",
    "precipitation",
)
WEATHER_OPTIONAL_COLUMNS: tuple[str, ...] = ("humidity", "radiation")
WEATHER_COLUMNS: tuple[str, ...] = (*WEATHER_REQUIRED_COLUMNS, *WEATHER_OPTIONAL_COLUMNS)

INPUT_KEYS: dict[str, tuple[str, str]] = {
    "prices": ("commodity", "date"),
    "weather": ("region", "date"),
}
"""The key of each input: one row per key, and what a load merges by."""


@dataclass(frozen=True)
class Commodity:
    """A commodity the project knows how to name and which weather drives it.

    Attributes:
        name: The key used in data and options (``coffee``).
        display_name: The name in model ids and plots (``Coffee``).
        unit: The unit of its prices.
        weather_regions: Regions whose weather the weather-aware models use; empty means
            those models run without weather regressors.
    """

    name: str
    display_name: str
    unit: str
    weather_regions: tuple[str, ...] = ()


COMMODITIES: dict[str, Commodity] = {
    commodity.name: commodity
    for commodity in (
        Commodity(
            "coffee",
            "Coffee",
            "US cents/lb (ICE Arabica KC)",
            ("Brazil", "Colombia", "Honduras", "Indonesia", "Vietnam"),
        ),
        Commodity("sugar", "Sugar", "US cents/lb (ICE Sugar No.11 SB)"),
        Commodity("cocoa", "Cocoa", "USD/t (ICE Cocoa CC)"),
    )
}


def commodity_info(name: str) -> Commodity:
    """The catalogue entry of ``name``, or a plain entry for a commodity only the data knows."""
    return COMMODITIES.get(name, Commodity(name, name.replace("_", " ").title(), "unknown"))
