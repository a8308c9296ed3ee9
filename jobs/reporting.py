"""Console output of a run: log lines always, a progress bar too when stdout is a terminal."""

from __future__ import annotations

import sys
from typing import Any

import click

from forecast_core.redaction import redact_credentials


class ConsoleReporter:
    """Prints the run log; on a terminal also draws a progress bar over forecasts.

    Not on a terminal (a pod's log, CI), only plain lines are printed, plus a progress
    line every ``log_every`` forecasts.
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
