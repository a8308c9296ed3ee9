"""The HTML report is one self-contained page: tables as HTML, figures as PNG data URIs."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest

from forecast_core.evaluation.presentation.report import render_report, write_report
from forecast_core.evaluation.runner import score_span
from tests.evaluation.test_scoring import HISTORY, _config, _forecasts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = dt.datetime(2024, 4, 1, 6, 0, tzinfo=dt.UTC)


def test_report_inlines_every_figure_and_links_nothing_outside(tmp_path):
    evaluation = score_span(_config(), HISTORY, _forecasts().index, _forecasts().read)
    path = write_report(evaluation, tmp_path / "nested" / "report.html", NOW)
    page = path.read_text(encoding="utf-8")

    images = re.findall(r'<img alt="(\w+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [name for name, _ in images] == [
        "fan_chart",
        "coverage_by_horizon",
        "pit_histogram",
        "skill_over_time",
    ]
    for _, encoded in images:
        assert base64.b64decode(encoded).startswith(PNG_SIGNATURE)
    assert not re.search(r'(src|href)="(?!data:)', page)  # no file, no URL
    assert page.count("<table") >= 6
    assert "coffee, 2024-02-01 to 2024-03-31" in page
    assert ">naive<" in page and ">random_walk<" in page


def test_report_of_nothing_scored_says_so():
    late = [dt.date(2024, 3, 25)]  # not realized by the end of the history
    forecasts = _forecasts(dates=late)
    evaluation = score_span(_config(), HISTORY, forecasts.index, forecasts.read)
    page = render_report(evaluation, NOW)
    assert "Nothing scored: no figure." in page
    assert "data:image/png" not in page
    assert evaluation.left_out["n_forecasts"].sum() == 2


def test_tables_have_one_header_row_and_the_coverage_tables_are_titled():
    evaluation = score_span(_config(), HISTORY, _forecasts().index, _forecasts().read)
    page = render_report(evaluation, NOW)
    heads = re.findall(r"<thead>(.*?)</thead>", page, flags=re.DOTALL)
    assert len(heads) >= 6
    assert all(head.count("<tr") == 1 for head in heads)  # no row of index names alone
    assert "<h3>80% interval coverage by horizon day (nominal 0.80)</h3>" in page
    assert "<h3>95% interval coverage by horizon day (nominal 0.95)</h3>" in page
    assert "<th>model</th>\n      <th>day 1</th>" in page


def test_skill_over_time_is_weekly_over_a_short_span_and_monthly_over_a_long_one():
    short = score_span(_config(), HISTORY, _forecasts().index, _forecasts().read)
    assert short.skill_period == "week"
    weeks = short.skill_over_time().query("model_name == 'naive'")
    # Forecasts of 2024-02-05..12: the weeks of Monday the 5th and Monday the 12th.
    assert list(weeks["period_start"]) == [dt.date(2024, 2, 5), dt.date(2024, 2, 12)]
    scores = short.scores
    first_week = scores[scores["forecast_start_date"] < dt.date(2024, 2, 12)]
    crps = first_week.groupby("model_name")["crps"].sum()  # both models score the same cells
    assert weeks["value"].iloc[0] == pytest.approx(1 - crps["naive"] / crps["random_walk"])
    assert weeks["n_scored"].sum() == (scores["model_name"] == "naive").sum()
    page = render_report(short, NOW)
    assert "by week of forecast date" in page
    assert "<th>week of</th>" in page and "<td>2024-02-05</td>" in page

    long = score_span(
        _config(evaluated_from=dt.date(2023, 12, 1)), HISTORY, _forecasts().index, _forecasts().read
    )
    assert long.skill_period == "month"
    assert list(long.skill_over_time().query("model_name == 'naive'")["period_start"]) == [
        dt.date(2024, 2, 1)
    ]
    assert "<th>month</th>" in render_report(long, NOW)
