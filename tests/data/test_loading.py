"""Loading and validating user data: each bad input is one clear line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from forecast_core.data import load_dataset, sample_data_path
from forecast_core.errors import DataError


def _prices(days: int = 40, commodity: str = "coffee") -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=days)
    close = [100.0 + i for i in range(days)]
    return pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "commodity": commodity,
            "open": close,
            "high": close,
            "low": close,
            "close": close,
        }
    )


def _write(folder: Path, prices: pd.DataFrame, name: str = "prices.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".parquet"):
        prices.to_parquet(path)
    else:
        prices.to_csv(path, index=False)
    return folder


def test_bundled_sample_has_three_commodities_and_coffee_weather(sample_dataset):
    assert sample_dataset.commodities == ["cocoa", "coffee", "sugar"]
    coffee = sample_dataset.history("coffee")
    assert coffee.first_date == dt.date(2012, 1, 3)
    assert coffee.last_date == dt.date(2025, 11, 14)
    assert coffee.weather_features == ("temp_mean_30d", "temp_min_7d", "precip_30d")
    assert sample_dataset.history("sugar").weather_features == ()
    assert sample_data_path().joinpath("SOURCE.md").is_file()


def test_user_data_in_csv_and_parquet_load_the_same(tmp_path):
    csv = load_dataset(_write(tmp_path / "csv", _prices()))
    parquet = load_dataset(_write(tmp_path / "pq", _prices(), "prices.parquet"))
    pd.testing.assert_frame_equal(csv.prices, parquet.prices)
    assert csv.history("coffee").weather_features == ()


def test_a_single_prices_file_is_accepted(tmp_path):
    folder = _write(tmp_path, _prices())
    assert load_dataset(folder / "prices.csv").commodities == ["coffee"]


def _with_value(row: int, column: str, value: object) -> pd.DataFrame:
    frame = _prices().astype({column: object})
    frame.loc[row, column] = value
    return frame


BAD_PRICES = [
    pytest.param(_prices().drop(columns="close"), "missing column(s) 'close'", id="missing-column"),
    pytest.param(
        _with_value(3, "date", "2020-13-45"),
        "column 'date': '2020-13-45' is not an ISO date on row 4; expected YYYY-MM-DD",
        id="malformed-date",
    ),
    pytest.param(
        _with_value(5, "close", None),
        "column 'close': missing value on 2020-01-08",
        id="missing-price",
    ),
    pytest.param(
        _with_value(6, "low", -1.0),
        "column 'low': non-positive value -1.0 on 2020-01-09",
        id="negative-price",
    ),
    pytest.param(
        _with_value(6, "open", "abc"), "column 'open': 'abc' is not a number", id="wrong-type"
    ),
    pytest.param(
        _with_value(4, "date", "2020-01-06"), "duplicate date 2020-01-06", id="duplicate-date"
    ),
    pytest.param(
        _prices().iloc[[0, 2, 1, 3]], "2020-01-02 (coffee) comes after a later date", id="unsorted"
    ),
    pytest.param(
        _prices().drop(index=range(5, 20)),
        "no coffee prices from 2020-01-07 to 2020-01-29",
        id="gappy",
    ),
]


@pytest.mark.parametrize(("prices", "message"), BAD_PRICES)
def test_bad_prices_give_one_line_naming_file_column_and_value(tmp_path, prices, message):
    with pytest.raises(DataError) as error:
        load_dataset(_write(tmp_path, prices))
    assert message in str(error.value)
    assert str(error.value).startswith("prices.csv: ")
    assert "\n" not in str(error.value)


def test_future_dated_rows_are_rejected(tmp_path):
    with pytest.raises(DataError, match=r"2020-02-04 \(coffee\) is after today 2020-02-03"):
        load_dataset(_write(tmp_path, _prices()), today=dt.date(2020, 2, 3))


def test_empty_file_is_rejected(tmp_path):
    tmp_path.joinpath("prices.csv").write_text("")
    with pytest.raises(DataError, match="prices.csv: no rows"):
        load_dataset(tmp_path)


def test_header_only_file_is_rejected(tmp_path):
    tmp_path.joinpath("prices.csv").write_text("date,commodity,open,high,low,close\n")
    with pytest.raises(DataError, match="prices.csv: no rows"):
        load_dataset(tmp_path)


def test_missing_folder_and_missing_prices_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(DataError, match="no prices file; expected one of: prices.parquet"):
        load_dataset(tmp_path)


def test_unknown_commodity_lists_the_known_ones(sample_dataset):
    with pytest.raises(DataError, match="unknown commodity 'gold'; expected one of: cocoa, coffee"):
        sample_dataset.history("gold")


def _dated(*dates: str) -> pd.DataFrame:
    frame = _prices(len(dates))
    frame["date"] = list(dates)
    return frame


# Dates are ISO text or typed: anything else is refused, never guessed (11/12/2025 reads as
# a date either way round, so a guess corrupts data silently).
NON_ISO_DATES = [
    pytest.param(_dated("2025-11-19", "20/11/2025"), "'20/11/2025'", 2, id="day-first"),
    pytest.param(_dated("11/12/2025"), "'11/12/2025'", 1, id="valid-both-ways-round"),
    pytest.param(
        _dated("2025-11-03", "2025-11-04", "04/11/2025", "2025-11-06"),
        "'04/11/2025'",
        3,
        id="mixed-styles",
    ),
    pytest.param(_dated("2025/11/14"), "'2025/11/14'", 1, id="slashes"),
    pytest.param(_dated("14 Nov 2025"), "'14 Nov 2025'", 1, id="words"),
    pytest.param(_dated("2025-11-14 00:00:00"), "'2025-11-14 00:00:00'", 1, id="with-time"),
    pytest.param(_dated("2025-02-29"), "'2025-02-29'", 1, id="no-such-day"),
]


@pytest.mark.parametrize(("prices", "shown", "row"), NON_ISO_DATES)
@pytest.mark.parametrize("name", ["prices.csv", "prices.parquet"])
def test_dates_other_than_iso_are_refused_naming_file_column_value_and_row(
    tmp_path, prices, shown, row, name
):
    with pytest.raises(DataError) as error:
        load_dataset(_write(tmp_path, prices, name))
    assert str(error.value) == (
        f"{name}: column 'date': {shown} is not an ISO date on row {row}; "
        "expected YYYY-MM-DD (or a typed date column)"
    )


def test_a_date_on_one_commodity_s_row_names_the_file_row(tmp_path):
    frame = pd.concat([_prices(3, "sugar"), _prices(3)], ignore_index=True)
    frame.loc[4, "date"] = "05/01/2020"
    dataset = load_dataset(_write(tmp_path, frame), isolate_commodities=True)
    assert dataset.commodities == ["coffee", "sugar"]
    with pytest.raises(DataError, match=r"'05/01/2020' is not an ISO date on row 5;"):
        dataset.history("coffee")
    assert dataset.history("sugar").last_date == dt.date(2020, 1, 3)


def test_typed_date_and_timestamp_columns_load_as_their_dates(tmp_path):
    text = _prices(5)
    typed = text.assign(date=pd.to_datetime(text["date"]).dt.date)
    stamped = text.assign(date=pd.to_datetime(text["date"]).dt.tz_localize("UTC"))
    expected = load_dataset(_write(tmp_path / "text", text)).prices
    for frame, folder in ((typed, "typed"), (stamped, "stamped")):
        loaded = load_dataset(_write(tmp_path / folder, frame, "prices.parquet")).prices
        pd.testing.assert_frame_equal(loaded, expected)
