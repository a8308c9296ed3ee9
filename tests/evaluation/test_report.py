"""The HTML report is one self-contained page: tables as HTML, figures as PNG data URIs."""

from __future__ import annotations

import base64
import datetime as dt
import re

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
