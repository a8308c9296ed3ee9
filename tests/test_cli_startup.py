"""The CLI start-up benchmark measures the real command and reports against the goals."""

from __future__ import annotations

import json

from benchmarks import cli_startup


def test_a_command_is_timed_in_fresh_interpreters():
    times = cli_startup.time_command(["--version"], runs=2)
    assert len(times) == 2 and all(0 < seconds < 60 for seconds in times)


def test_figures_are_printed_and_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_startup, "COMMANDS", (("version", ("--version",), 0.5),))
    assert cli_startup.main(["--runs", "1", "--json", str(tmp_path / "startup.json")]) == 0
    assert "version  median" in capsys.readouterr().out
    written = json.loads((tmp_path / "startup.json").read_text())
    assert [entry["name"] for entry in written] == ["version"]
    assert len(written[0]["runs"]) == 1
