"""Console output of a run: log lines always, a progress bar too when stdout is a terminal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from forecast_core.redaction import redact_credentials

if TYPE_CHECKING:
    from forecast_core.errors import ForecastCoreError
    from forecast_core.evaluation import Evaluation
    from forecast_core.pipeline import RunSummary

# The metrics of an evaluation echoed (all of them are in the table, the CSV and the report).
EVALUATION_COLUMNS = (
    "crps",
    "crps_skill",
    "mae_median",
    "rmse_median",
    "coverage_80",
    "width_80",
    "coverage_95",
    "width_95",
    "directional_accuracy",
)


class ConsoleReporter:
    """Prints the run log; on a terminal also draws a progress bar over forecasts.

    Not on a terminal (a pod's log, CI), only plain lines are printed, plus a progress
    line every ``log_every`` forecasts. One reporter serves a run's commodities in turn:
    each pipeline run ``start``s its own count.
    """

    def __init__(self, interactive: bool | None = None, log_every: int = 500) -> None:
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        self.log_every = log_every
        self._bar: Any = None
        self._done = 0
        self._total = 0

    def line(self, text: str) -> None:
        if self._bar is not None:
            click.echo("")  # leave the bar's line before printing
        click.echo(redact_credentials(text))

    def start(self, total_forecasts: int) -> None:
        self._total = total_forecasts
        self._done = 0
        self.line(f"{total_forecasts} forecasts to generate")
        if self.interactive and total_forecasts:
            self._bar = click.progressbar(
                length=total_forecasts, label="forecasts", show_pos=True, show_eta=True
            )
            self._bar.render_progress()

    def advance(self, forecasts: int) -> None:
        previous = self._done
        self._done += forecasts
        if self._bar is not None:
            self._bar.update(forecasts)
        elif self._done // self.log_every > previous // self.log_every or self._done == self._total:
            click.echo(f"progress: {self._done}/{self._total} forecasts")

    def finish(self) -> None:
        """Close the progress bar, if one is drawn."""
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None

    def stopped(self, error: ForecastCoreError) -> None:
        """A commodity's run stopped: close the bar, one redacted line on stderr."""
        self.finish()
        click.echo(f"Error: run stopped: {redact_credentials(str(error))}", err=True)

    def finished(self, summary: RunSummary) -> None:
        """A commodity's run ended: close the bar, print its summary, timings and failures."""
        self.finish()
        click.echo(f"Summary: {summary.describe()}")
        click.echo(f"Timings: {summary.describe_timings()}")
        for failure in summary.failures:
            click.echo(f"  failed: {failure.model_name} ({failure.scope}): {failure.error}")

    def evaluated(self, evaluation: Evaluation) -> None:
        """An evaluation is computed: per model what was scored and left out (and why),
        then the headline metrics."""
        left_out = evaluation.left_out.groupby("model_name")["n_forecasts"].sum()
        for name in evaluation.config.models:
            reasons = evaluation.left_out[
                (evaluation.left_out["model_name"] == name)
                & (evaluation.left_out["n_forecasts"] > 0)
            ]
            detail = ", ".join(f"{r.reason} {r.n_forecasts}" for r in reasons.itertuples()) or "-"
            scored = evaluation.scores.loc[
                evaluation.scores["model_name"] == name, "forecast_start_date"
            ].nunique()
            click.echo(
                f"  {name}: scored {scored}, left out {int(left_out.get(name, 0))} ({detail})"
            )
        if not evaluation.benchmark_scored:
            click.echo(f"  no {evaluation.config.benchmark} forecasts scored: no skill score")
        if evaluation.n_scored:
            shown = [c for c in EVALUATION_COLUMNS if c in evaluation.headline.columns]
            table = evaluation.headline[shown].to_string(float_format=lambda v: f"{v:.3f}")
            click.echo(table)
