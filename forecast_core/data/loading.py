"""Load and validate price and weather data: the bundled sample or the user's own files.

A data path is either a folder holding ``prices.<ext>`` and optionally ``weather.<ext>``
(``ext`` one of csv, csv.gz, parquet) or a single prices file. The Delta input tables
(``tables.inputs``) are validated by the same functions. Every problem is reported
as one ``DataError`` line naming the file, the column, the first bad value or date, and
what was expected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd

from forecast_core.data.history import OBSERVATION_PRICE_COLUMNS, MarketHistory
from forecast_core.data.schemas import (
    PRICE_COLUMNS,
    PRICE_VALUE_COLUMNS,
    WEATHER_COLUMNS,
    WEATHER_OPTIONAL_COLUMNS,
    commodity_info,
)
from forecast_core.data.weather import WEATHER_FEATURES, join_weather, weather_features
from forecast_core.errors import DataError, first_line

SUFFIXES: tuple[str, ...] = (".parquet", ".csv.gz", ".csv")
# Longer than any exchange closure in the sample (the longest is 4 days); more means missing data.
MAX_PRICE_GAP_DAYS = 14
# The one accepted text form of a date (calendar validity is checked when parsing).
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def sample_data_path() -> Path:
    """The folder of the bundled sample data set (the embedded default)."""
    return Path(str(resources.files("forecast_core.data") / "sample"))


@dataclass(frozen=True, eq=False)
class MarketDataset:
    """Validated prices of one or more commodities and the weather of their regions.

    Attributes:
        prices: Tidy prices in the ``prices`` schema, sorted by commodity then date.
        weather: Tidy weather in the ``weather`` schema (may be empty).
        source: Where the data came from, for messages.
        rejected: Commodities whose price rows failed validation, with the one-line error
            (``load_dataset(..., isolate_commodities=True)``); ``history`` raises it.
        versions: The Delta version of each input table read (``prices``, ``weather``);
            empty for files.
    """

    prices: pd.DataFrame
    weather: pd.DataFrame
    source: str
    rejected: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def lineage(self) -> dict[str, object]:
        """What a table commit records of these inputs: the Delta versions read, if any."""
        return {"input_versions": dict(self.versions)} if self.versions else {}

    @property
    def commodities(self) -> list[str]:
        """The commodities with prices (valid or ``rejected``), sorted."""
        return sorted({*self.prices["commodity"].unique(), *self.rejected})

    def history(self, commodity: str) -> MarketHistory:
        """The full history of ``commodity``: its prices joined with its weather features.

        Raises:
            DataError: The commodity has no prices in this data set, or invalid ones.
        """
        if commodity in self.rejected:
            raise DataError(self.rejected[commodity])
        if commodity not in self.commodities:
            raise DataError(
                f"{self.source}: unknown commodity {commodity!r}; "
                f"expected one of: {', '.join(self.commodities)}"
            )
        prices = self.prices.loc[
            self.prices["commodity"] == commodity, list(OBSERVATION_PRICE_COLUMNS)
        ]
        regions = tuple(
            r for r in commodity_info(commodity).weather_regions if r in set(self.weather["region"])
        )
        if not regions:
            return MarketHistory(commodity, prices.reset_index(drop=True))
        observations = join_weather(prices, weather_features(self.weather, regions))
        return MarketHistory(commodity, observations, WEATHER_FEATURES)


def load_dataset(
    path: str | Path | None = None,
    today: dt.date | None = None,
    isolate_commodities: bool = False,
) -> MarketDataset:
    """Load and validate prices (and weather, if present) from ``path``.

    Args:
        path: A folder with ``prices.*`` and optional ``weather.*`` files, or one prices
            file. ``None`` loads the bundled sample data set.
        today: The run date; rows dated after it are rejected as future-dated.
        isolate_commodities: Validate each commodity's price rows on their own: a
            commodity with a bad row is recorded in ``rejected`` instead of failing the
            load (the jobs, so that one commodity's bad data fails it alone).

    Raises:
        DataError: A file is missing, unreadable, or fails validation.
    """
    root = Path(path) if path is not None else sample_data_path()
    if root.is_dir():
        prices_file = _find_table(root, "prices", required=True)
        weather_file = _find_table(root, "weather", required=False)
    elif root.is_file():
        prices_file, weather_file = root, None
    else:
        raise DataError(f"data path {str(root)!r} does not exist; expected a folder or a file")
    raw_prices = read_file(prices_file)
    rejected: dict[str, str] = {}
    if isolate_commodities:
        prices, rejected = validate_prices_by_commodity(raw_prices, prices_file.name, today)
    else:
        prices = validate_prices(raw_prices, prices_file.name, today)
    weather = (
        validate_weather(read_file(weather_file), weather_file.name, today)
        if weather_file is not None
        else empty_weather()
    )
    return MarketDataset(prices, weather, str(root), rejected=rejected)


def validate_prices(raw: pd.DataFrame, source: str, today: dt.date | None = None) -> pd.DataFrame:
    """Check and normalise a prices frame to the ``prices`` schema."""
    return check_prices(normalise_prices(raw, source), source, today)


def normalise_prices(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """The ``prices`` columns of ``raw``, typed and cleaned; each row checked on its own."""
    frame = _with_columns(raw, PRICE_COLUMNS, source)
    frame["date"] = _parse_dates(frame["date"], source)
    unnamed = frame["commodity"].isna() | (frame["commodity"].astype(str).str.strip() == "")
    if unnamed.any():
        raise DataError(
            f"{source}: column 'commodity': missing value on "
            f"{frame.loc[unnamed, 'date'].iloc[0].date()}; expected a commodity name"
        )
    frame["commodity"] = frame["commodity"].astype(str).str.strip().str.lower()
    for column in PRICE_VALUE_COLUMNS:
        frame[column] = _parse_numbers(frame[column], source, column)
        missing = frame[column].isna()
        if missing.any():
            row = frame[missing].iloc[0]
            raise DataError(
                f"{source}: column {column!r}: missing value on {row.date.date()} "
                f"({row.commodity}); expected a price on every row"
            )
        bad = frame[column] <= 0
        if bad.any():
            row = frame[bad].iloc[0]
            value = float(row[column])
            raise DataError(
                f"{source}: column {column!r}: non-positive value {value!r} on "
                f"{row.date.date()} ({row.commodity}); expected prices > 0"
            )
    return frame


def check_prices(frame: pd.DataFrame, source: str, today: dt.date | None = None) -> pd.DataFrame:
    """Check a normalised prices frame across rows (calendar, gaps); sorted by key."""
    for commodity, rows in frame.groupby("commodity", sort=True):
        _check_calendar(rows["date"], source, str(commodity), today)
        _check_gaps(rows["date"], source, str(commodity))
    return frame.sort_values(["commodity", "date"], kind="stable").reset_index(drop=True)


def validate_prices_by_commodity(
    raw: pd.DataFrame, source: str, today: dt.date | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """``validate_prices`` per commodity: the valid rows, and each invalid commodity's error.

    Raises:
        DataError: A problem no commodity owns (a missing column, a row without commodity).
    """
    frame = _with_columns(raw, PRICE_COLUMNS, source)
    keys = frame["commodity"].astype("string").str.strip().str.lower()
    if keys.isna().any() or (keys == "").any():
        return validate_prices(raw, source, today), {}  # raises, naming the first such row
    valid: list[pd.DataFrame] = []
    rejected: dict[str, str] = {}
    for commodity, rows in frame.groupby(keys, sort=True):
        try:
            valid.append(validate_prices(rows, source, today))
        except DataError as error:
            rejected[str(commodity)] = str(error)
    if not valid:
        return validate_prices(frame.iloc[:0], source, today), rejected
    prices = pd.concat(valid, ignore_index=True)
    return prices.sort_values(["commodity", "date"], kind="stable").reset_index(drop=True), rejected


def validate_weather(raw: pd.DataFrame, source: str, today: dt.date | None = None) -> pd.DataFrame:
    """Check and normalise a weather frame to the ``weather`` schema."""
    return check_weather(normalise_weather(raw, source), source, today)


def normalise_weather(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """The ``weather`` columns of ``raw``, typed and cleaned; each row checked on its own."""
    for column in WEATHER_OPTIONAL_COLUMNS:
        if column not in raw.columns:
            raw = raw.assign(**{column: np.nan})
    frame = _with_columns(raw, WEATHER_COLUMNS, source)
    frame["date"] = _parse_dates(frame["date"], source)
    frame["region"] = frame["region"].astype(str).str.strip()
    for column in WEATHER_COLUMNS[2:]:
        frame[column] = _parse_numbers(frame[column], source, column)
    return frame


def check_weather(frame: pd.DataFrame, source: str, today: dt.date | None = None) -> pd.DataFrame:
    """Check a normalised weather frame across rows (calendar); sorted by key."""
    for region, rows in frame.groupby("region", sort=True):
        _check_calendar(rows["date"], source, str(region), today)
    return frame.sort_values(["region", "date"], kind="stable").reset_index(drop=True)


VALIDATORS: dict[
    str,
    tuple[
        Callable[[pd.DataFrame, str], pd.DataFrame],
        Callable[[pd.DataFrame, str, dt.date | None], pd.DataFrame],
    ],
] = {
    "prices": (normalise_prices, check_prices),
    "weather": (normalise_weather, check_weather),
}
"""Per input (``prices``, ``weather``): the row-by-row normalisation, then the checks
across rows (which need the rows sorted by the input's key, ``INPUT_KEYS``)."""


@overload
def _find_table(root: Path, stem: str, *, required: Literal[True]) -> Path: ...


@overload
def _find_table(root: Path, stem: str, *, required: Literal[False]) -> Path | None: ...


def _find_table(root: Path, stem: str, *, required: bool) -> Path | None:
    """The ``stem.*`` file in ``root``; raises ``DataError`` if ``required`` and missing."""
    for suffix in SUFFIXES:
        candidate = root / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    if required:
        names = ", ".join(f"{stem}{suffix}" for suffix in SUFFIXES)
        raise DataError(f"{root}: no prices file; expected one of: {names}")
    return None


def read_file(path: Path) -> pd.DataFrame:
    """The rows of one CSV (optionally gzipped) or Parquet file; ``DataError`` if unreadable."""
    try:
        frame = pd.read_parquet(path) if path.name.endswith(".parquet") else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except Exception as error:  # any reader failure is a bad file for the user
        raise DataError(
            f"{path.name}: cannot be read ({first_line(error)}); "
            f"expected CSV or Parquet in the documented schema"
        ) from error
    if frame.empty:
        raise DataError(f"{path.name}: no rows; expected at least one row")
    return frame


def _with_columns(raw: pd.DataFrame, required: tuple[str, ...], source: str) -> pd.DataFrame:
    missing = [column for column in required if column not in raw.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}; "
            f"expected columns: {', '.join(required)}"
        )
    return raw[list(required)].copy()


def _parse_dates(values: pd.Series, source: str) -> pd.Series:
    """``values`` as dates: typed dates or timestamps (Parquet, Delta), or ISO ``YYYY-MM-DD``
    text. Anything else is refused, however it could be read: ``11/12/2025`` is a date
    both ways round, so guessing would corrupt data silently.

    A row is named by its index label plus one: loaders keep the position in the file or
    frame as the index, so the first row after a CSV header is row 1.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values if values.dt.tz is None else values.dt.tz_convert(None)
    else:
        typed = values.map(lambda value: isinstance(value, dt.date)).astype(bool)
        text = values.where(~typed).astype("string").str.strip()
        iso = text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
        parsed = pd.to_datetime(text.where(iso), format="%Y-%m-%d", errors="coerce")
        if typed.any():
            parsed[typed] = [_naive_timestamp(value) for value in values[typed]]
    bad = parsed.isna()
    if bad.any():
        label, value = values.index[bad][0], values[bad].iloc[0]
        row = int(label) + 1 if isinstance(label, int | np.integer) else "?"
        found = "missing date" if pd.isna(value) else f"{str(value)!r} is not an ISO date"
        raise DataError(
            f"{source}: column 'date': {found} on row {row}; expected YYYY-MM-DD "
            f"(or a typed date column)"
        )
    return parsed.dt.normalize().astype("datetime64[ns]")


def _naive_timestamp(value: dt.date) -> pd.Timestamp:
    """A typed date or timestamp as a naive UTC timestamp."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp


def _parse_numbers(values: pd.Series, source: str, column: str) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        raise DataError(
            f"{source}: column {column!r}: {values[bad].iloc[0]!r} is not a number; "
            f"expected a decimal number"
        )
    return parsed.astype("float64")


def _check_calendar(dates: pd.Series, source: str, key: str, today: dt.date | None) -> None:
    duplicated = dates.duplicated()
    if duplicated.any():
        first = dates[duplicated].iloc[0].date()
        raise DataError(
            f"{source}: column 'date': duplicate date {first} ({key}); expected one row per date"
        )
    backwards = dates.diff() < pd.Timedelta(0)
    if backwards.any():
        raise DataError(
            f"{source}: column 'date': {dates[backwards].iloc[0].date()} ({key}) comes "
            f"after a later date; expected rows sorted by date"
        )
    if today is not None:
        future = dates > pd.Timestamp(today)
        if future.any():
            raise DataError(
                f"{source}: column 'date': {dates[future].iloc[0].date()} ({key}) is "
                f"after today {today}; expected no future-dated rows"
            )


def _check_gaps(dates: pd.Series, source: str, commodity: str) -> None:
    gaps = dates.diff() > pd.Timedelta(days=MAX_PRICE_GAP_DAYS)
    if gaps.any():
        position = int(np.argmax(gaps.to_numpy()))
        raise DataError(
            f"{source}: column 'date': no {commodity} prices from "
            f"{dates.iloc[position - 1].date()} to {dates.iloc[position].date()}; "
            f"expected gaps of at most {MAX_PRICE_GAP_DAYS} days"
        )


def empty_weather() -> pd.DataFrame:
    """A weather frame with no rows, in the ``weather`` schema."""
    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in WEATHER_COLUMNS})
    return frame.astype({"date": "datetime64[ns]", "region": "object"})
