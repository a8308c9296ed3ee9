"""Validate a file of new rows for an input table, before anything is merged.

Checked as ``loading`` checks a data file: its rows one by one, repeated keys (an exact
repeat is dropped, a key on two different rows is refused), and the table it would
leave behind (the held rows with the new ones laid over them: no future date, no long
price gap). Merging is storage's job (``tables.inputs``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from forecast_core.data.loading import VALIDATORS, read_file
from forecast_core.data.schemas import INPUT_KEYS
from forecast_core.errors import DataError


def validated_update(
    name: str, path: Path, held: pd.DataFrame | None, held_source: str, today: dt.date
) -> pd.DataFrame:
    """The new rows of ``path`` for input ``name``, normalised, checked alone and over ``held``.

    Args:
        name: ``prices`` or ``weather``.
        path: The file of new rows (CSV or Parquet).
        held: The rows the table holds now, as read (None if there is no table yet).
        held_source: Where ``held`` comes from, for messages.
        today: The load date (UTC); rows dated after it are refused.

    Raises:
        DataError: The file is unreadable or fails validation.
    """
    normalise, check = VALIDATORS[name]
    key = list(INPUT_KEYS[name])
    rows = _without_repeats(normalise(read_file(path), path.name), key, path.name)
    result = rows
    if held is not None and not held.empty:
        old = normalise(held, held_source)
        kept = old.merge(rows[key], on=key, how="left", indicator=True)
        result = pd.concat([kept[kept["_merge"] == "left_only"].drop(columns="_merge"), rows])
    check(result.sort_values(key, kind="stable").reset_index(drop=True), path.name, today)
    return rows


def _without_repeats(rows: pd.DataFrame, key: list[str], source: str) -> pd.DataFrame:
    """``rows`` with exact repeats dropped; a key on two different rows is a ``DataError``."""
    rows = rows.drop_duplicates().reset_index(drop=True)
    clashing = rows[rows.duplicated(key, keep=False)]
    if clashing.empty:
        return rows
    first, other = clashing.iloc[0], _twin(clashing, key)
    column = next(c for c in rows.columns if c not in key and not _same(first[c], other[c]))
    values = [float(first[column]), float(other[column])]  # value columns are all float64
    raise DataError(
        f"{source}: duplicate key ({first[key[0]]}, {first['date'].date()}) with conflicting "
        f"{column!r} values {values[0]!r} and {values[1]!r}; "
        f"expected one row per {key[0]} and date"
    )


def _twin(clashing: pd.DataFrame, key: list[str]) -> pd.Series:
    """The second row with the key of the first row of ``clashing``."""
    first = clashing.iloc[0]
    return clashing[(clashing[key] == first[key]).all(axis=1)].iloc[1]


def _same(left: object, right: object) -> bool:
    return bool(left == right) or (pd.isna(left) and pd.isna(right))
