"""Every setting of every command has an environment variable; the per-run options do not.

README and docs/commands.md say so; this keeps it true as options are added.
"""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from jobs.cli import cli

# What one invocation does, never read from the environment: a variable left in a shell or
# a ConfigMap must not change them unseen.
PER_RUN_OPTIONS: dict[str, set[str]] = {
    # dates and ranges
    "daily": {"--forecast-date", "--use-pins"},
    "backfill": {"--start", "--end", "--use-pins"},
    "plan": {"--start", "--end", "--shard-count", "--json"},
    "evaluate": {"--from", "--to", "--fan-date", "--output", "--promote"},
    "report": {"--from", "--to", "--fan-date", "--output"},
    "monitor": {"--as-of", "--json"},
    # filters of what is shown, and the output form
    "inspect": {"--commodity", "--from", "--to", "--as-of", "--json"},
    "models list": {"--commodity", "--model", "--json"},
    "models show": {"--json"},
    "table history": {"--limit", "--json"},
    # one change, one load
    "models retire": {"--reason"},
    "data load": {"--prices", "--weather"},
    # the shape of one backfill Job, built on an operator's machine: its own FORECAST_*
    # settings (a local --data) must not leak into the pods
    "k8s backfill-job": {
        "--start",
        "--end",
        "--shard-count",
        "--parallelism",
        "--n-paths",
        "--seed",
        "--data",
        "--apply",
        "--context",
    },
}


def _commands(group: click.Group, path: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        full = f"{path} {name}".strip()
        if isinstance(command, click.Group):
            yield from _commands(command, full)
        else:
            yield full, command


COMMANDS = dict(_commands(cli))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_setting_has_an_environment_variable(name: str) -> None:
    per_run = PER_RUN_OPTIONS.get(name, set())
    for option in COMMANDS[name].params:
        if not isinstance(option, click.Option) or option.name == "help":
            continue
        flag = option.opts[0]
        if flag in per_run:
            assert option.envvar is None, f"{name} {flag} is per run but reads {option.envvar}"
            continue
        assert option.envvar, f"{name} {flag} has no environment variable"
        assert option.show_envvar, f"{name} {flag} does not show {option.envvar} in --help"
    unknown = per_run - {opt for o in COMMANDS[name].params for opt in o.opts}
    assert not unknown, f"{name} has no option {unknown}"


def test_the_run_settings_come_from_the_environment() -> None:
    result = CliRunner().invoke(
        cli,
        ["plan", "--start", "2024-01-01", "--end", "2024-03-31"],
        env={
            "FORECAST_COMMODITY": "Sugar",
            "FORECAST_MODELS": "naive,XGBoost",
            "FORECAST_TRAIN_FREQUENCY": "monthly",
        },
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "Backfill 2024-01-01..2024-03-31, cadence monthly, sugar: 3 windows per commodity, "
        "182 forecasts (2 models)"
    )


def test_help_shows_the_variables_of_paths_seed_and_staleness() -> None:
    result = CliRunner().invoke(cli, ["daily", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for variable in (
        "FORECAST_COMMODITY",
        "FORECAST_MODELS",
        "FORECAST_N_PATHS",
        "FORECAST_SEED",
        "FORECAST_MAX_STALENESS_DAYS",
    ):
        assert f"env var: {variable}" in result.output
