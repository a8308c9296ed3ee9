"""delta-rs's commits on ``s3a://`` (the input tables of ``forecast data load``), with the
project's storage options, against a real S3 API (moto on loopback).

Measured: delta-rs 1.6 writes each log entry with ``PutObject`` ``If-None-Match: *``; it has
no DynamoDB locking provider any more and no unsafe rename. Two merges racing for one
version (paired by the proxy): on a store that honours the header one commits and the
other is refused and told so (a concurrent transaction added data; a rerun merges its
rows); on a store that ignores it both report success and one's rows are silently lost,
which is why every delta-rs write to S3 is probed first.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest

from forecast_core.data import sample_data_path
from forecast_core.tables import inputs

from .conftest import REGION, S3Server
from .proxy import CommitPairing, s3_proxy

pytestmark = pytest.mark.slow

PRICES = pd.read_csv(sample_data_path() / "prices.csv.gz", parse_dates=["date"])
FIRST_NEW_DATE = dt.date(2025, 1, 1)
HELD = PRICES[PRICES["date"].dt.date < FIRST_NEW_DATE]
NEW = PRICES[PRICES["date"].dt.date >= FIRST_NEW_DATE]
LOADS = {name: NEW[NEW["commodity"] == name] for name in sorted(NEW["commodity"].unique())[:2]}
NEW_ROWS = pd.concat(LOADS.values())


def _merge(env: Mapping[str, str], root: str, name: str, barrier: str) -> None:
    """One load, in its own process: ready, wait for go, merge ``LOADS[name]``; prints
    the outcome (the parent reads the exit code)."""
    os.environ.update(env)
    Path(barrier, f"ready-{name}").touch()
    while not Path(barrier, "go").exists():
        time.sleep(0.002)
    try:
        inputs.merge(root, inputs.PRICES, LOADS[name], {"load": name})
    except Exception as error:  # delta-rs's CommitFailedError, reported to the parent
        print(f"{name}: {type(error).__name__}: {error}", flush=True)
        raise SystemExit(1) from None


def _environment(endpoint: str, s3_server: S3Server) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
    }


@pytest.mark.parametrize("store", ["honours If-None-Match", "ignores it"])
def test_two_loads_racing_for_one_version(store, s3_server, bucket, tmp_path, monkeypatch):
    root = f"s3a://{bucket}/inputs"
    pairing = CommitPairing(timeout_seconds=120)
    blind = store == "ignores it"
    with s3_proxy(s3_server.url, strip_conditional=blind, pairing=pairing) as proxy:
        env = _environment(proxy.url, s3_server)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        inputs.merge(root, inputs.PRICES, HELD, {"load": "first"})  # version 0
        pairing.pair(1)
        context = multiprocessing.get_context("spawn")
        loads = {
            name: context.Process(target=_merge, args=(env, root, name, str(tmp_path)))
            for name in LOADS
        }
        for process in loads.values():
            process.start()
        while not all((tmp_path / f"ready-{name}").exists() for name in LOADS):
            time.sleep(0.05)
        (tmp_path / "go").touch()
        for process in loads.values():
            process.join(timeout=300)
        exits = {name: process.exitcode for name, process in loads.items()}
        held = inputs.read(root, inputs.PRICES)
        assert held is not None and held.version == 1  # two merges of version 1, one version
        merged = set(held.rows.loc[held.rows["date"] >= FIRST_NEW_DATE, "commodity"])
        assert len(held.rows) == len(HELD) + sum(len(LOADS[name]) for name in merged)
        assert all(condition == "*" for _, condition, _ in proxy.log.puts())  # conditional put
        if blind:
            # Both think they merged, and one's rows are gone.
            assert list(exits.values()) == [0, 0] and len(merged) == 1
            return
        # One commits, the other is refused and says so; its rerun merges its rows.
        assert sorted(exits.values()) == [0, 1] and len(proxy.log.refused_puts()) == 1
        (refused,) = (name for name, code in exits.items() if code == 1)
        assert merged == set(LOADS) - {refused}
        inputs.merge(root, inputs.PRICES, LOADS[refused], {"load": "rerun"})
        assert len(inputs.read(root, inputs.PRICES).rows) == len(HELD) + len(NEW_ROWS)
