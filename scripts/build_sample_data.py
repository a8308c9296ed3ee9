"""Rebuild the bundled sample data set from the project's shared raw data.

Usage: python scripts/build_sample_data.py ../shared/data

Writes forecast_core/data/sample/prices.csv.gz and weather.csv.gz in the documented
schemas (see forecast_core/data/schemas.py), trimmed to START onward and rounded to the
precision of the sources, so the package stays a few hundred KB. The attribution lives
in forecast_core/data/sample/SOURCE.md; keep it in step when this script changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

START = "2012-01-01"
COMMODITY_FILES = {"coffee": "coffee.csv", "sugar": "sugar.csv", "cocoa": "cocoa.csv"}
WEATHER_REGIONS = ("Brazil", "Colombia", "Honduras", "Indonesia", "Vietnam")
OUTPUT = Path(__file__).resolve().parents[1] / "forecast_core" / "data" / "sample"


def build_prices(raw: Path) -> pd.DataFrame:
    """OHLC of the continuous front-month ICE futures, one row per commodity and trading day."""
    frames = []
    for commodity, file_name in COMMODITY_FILES.items():
        frame = pd.read_csv(
            raw / "futures_cot_tradingview" / file_name,
            usecols=["time", "open", "high", "low", "close"],
        )
        frame = frame.rename(columns={"time": "date"}).assign(commodity=commodity)
        frames.append(frame[frame["date"] >= START])
    prices = pd.concat(frames, ignore_index=True)
    return prices[["date", "commodity", "open", "high", "low", "close"]]


def build_weather(raw: Path) -> pd.DataFrame:
    """Daily ERA5 weather at one coffee-growing point per country, complete days only."""
    frames = []
    for region in WEATHER_REGIONS:
        source = raw / "weather_openmeteo_coffee_countries" / f"weather_data_{region}.csv"
        frame = pd.read_csv(source)
        frame = pd.DataFrame(
            {
                "date": frame["date"].str.slice(0, 10),
                "region": region,
                "temp_min": frame["temperature_2m_min"],
                "temp_mean": frame["temperature_2m_mean"],
                "temp_max": frame["temperature_2m_max"],
                "precipitation": frame["precipitation_sum"],
                "humidity": float("nan"),  # not in this source
                "radiation": frame["shortwave_radiation_sum"],
            }
        )
        # The source's last day is only partly filled in: keep complete days.
        frame = frame.dropna(subset=["temp_mean", "precipitation"])
        frames.append(frame[frame["date"] >= START])
    return pd.concat(frames, ignore_index=True).round(2)


def main(raw_dir: str) -> None:
    raw = Path(raw_dir)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    options = {"index": False, "compression": {"method": "gzip", "mtime": 0}}
    build_prices(raw).to_csv(OUTPUT / "prices.csv.gz", **options)
    build_weather(raw).to_csv(OUTPUT / "weather.csv.gz", **options)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/build_sample_data.py PATH_TO_SHARED_DATA")
    main(sys.argv[1])
