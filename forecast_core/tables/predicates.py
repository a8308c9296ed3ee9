"""SQL predicates that name exactly a set of keys, for Delta's ``replaceWhere``.

A batch's keys are factored column by column: values that share the same rest of the key
are folded into one ``IN`` list. A backfill batch of four models over a month becomes
``commodity = 'coffee' AND ((model_name IN (...) AND model_version = 'v1.0' AND
forecast_start_date IN (...)) OR (...actuals...))``: short, whatever the row count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd


def sql_literal(value: object) -> str:
    """``value`` as a Spark SQL literal (strings quoted and escaped, dates typed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def key_predicate(rows: pd.DataFrame, key: Sequence[str]) -> str:
    """A predicate true for exactly the distinct ``key`` tuples of ``rows``."""
    # Distinct first, in pandas: iterating every row's values costs seconds a million rows.
    distinct = rows.loc[:, list(key)].drop_duplicates()
    keys: list[tuple[Any, ...]] = sorted(zip(*(distinct[c].tolist() for c in key), strict=True))
    return _factor(keys, list(key))


def _factor(keys: list[tuple[Any, ...]], columns: list[str]) -> str:
    column, rest = columns[0], columns[1:]
    if not rest:
        return _equals(column, sorted({k[0] for k in keys}))
    # Group the values of the first column by the predicate of the rest of their keys.
    suffixes: dict[Any, list[tuple[Any, ...]]] = {}
    for k in keys:
        suffixes.setdefault(k[0], []).append(k[1:])
    by_rest: dict[str, list[object]] = {}
    for value, tails in suffixes.items():
        by_rest.setdefault(_factor(tails, rest), []).append(value)
    terms = [f"{_equals(column, values)} AND {tail}" for tail, values in by_rest.items()]
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(f"({t})" for t in terms) + ")"


def _equals(column: str, values: list[object]) -> str:
    if len(values) == 1:
        return f"`{column}` = {sql_literal(values[0])}"
    return f"`{column}` IN ({', '.join(sql_literal(v) for v in values)})"
