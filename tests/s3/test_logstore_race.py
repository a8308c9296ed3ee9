"""Two Spark writers in two processes commit the same version of an ``s3a://`` Delta table
at once, round after round, on a real S3 API (moto on loopback).

A proxy makes their two commits of the contested version reach the store together every
round, whatever their timing (``CommitPairing``), so the race is not left to chance. With
the project's LogStore exactly one commit of each version wins, the other is retried as the
next version, and nothing is lost. With Delta's S3SingleDriverLogStore (a lock inside one
JVM only) the second commit silently replaces the first, and the same test sees the loss:
it can catch it.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from forecast_core.s3 import CONDITIONAL_LOGSTORE

from .conftest import REGION, S3Server, job_env
from .proxy import CommitPairing, s3_proxy

pytestmark = pytest.mark.slow

SINGLE_DRIVER = "io.delta.storage.S3SingleDriverLogStore"
WRITERS = ("a", "b")
ROUNDS = 3
SCHEMA = pa.schema([("writer", pa.string()), ("round", pa.int32())])
# Long enough for the slower writer's commit to come on a busy machine; only the
# contested commit ever waits, and only for its partner.
PAIR_TIMEOUT_SECONDS = 120
REPO = Path(__file__).resolve().parents[2]


def _options(s3_server: S3Server) -> dict[str, str]:
    """delta-rs's options for moto itself (not through the proxy)."""
    return {
        "AWS_ENDPOINT_URL": s3_server.url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_ALLOW_HTTP": "true",
    }


def _delta_rs(s3_server: S3Server, table: str) -> DeltaTable:
    return DeltaTable(table.replace("s3a://", "s3://"), storage_options=_options(s3_server))


def _race(
    s3_server: S3Server,
    pairing: CommitPairing,
    table: str,
    logstore: str,
    env: dict[str, str],
    folder: Path,
) -> list[subprocess.CompletedProcess]:
    """Run both writers, releasing each round when both are ready and pairing the commit
    of the version after the table's current one; their results."""
    barrier = folder / "barrier"
    barrier.mkdir()
    arguments = (str(ROUNDS), str(barrier), logstore)
    writers = {
        name: subprocess.Popen(
            [sys.executable, "-m", "tests.s3.race_writer", table, name, *arguments],
            cwd=REPO,
            env=env,
            stdout=(folder / f"{name}.out").open("w"),
            stderr=subprocess.STDOUT,
        )
        for name in WRITERS
    }
    try:
        for round_index in range(ROUNDS):
            ready = [barrier / f"ready-{name}-{round_index}" for name in WRITERS]
            while not all(path.exists() for path in ready):
                exited = {n: p.returncode for n, p in writers.items() if p.poll() is not None}
                assert not exited, f"writers exited early {exited}: see {folder}/*.out"
                time.sleep(0.05)
            pairing.pair(_delta_rs(s3_server, table).version() + 1)
            (barrier / f"go-{round_index}").touch()
        for process in writers.values():
            process.wait(timeout=900)
    finally:
        for process in writers.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return [
        subprocess.CompletedProcess(p.args, p.returncode, (folder / f"{n}.out").read_text())
        for n, p in writers.items()
    ]


@pytest.mark.parametrize("logstore", [CONDITIONAL_LOGSTORE, SINGLE_DRIVER], ids=["ours", "single"])
def test_two_writers_of_one_version(logstore, s3_server, bucket, s3_jars, tmp_path):
    table = f"s3a://{bucket}/race"
    write_deltalake(  # version 0, empty: every row comes from a writer
        table.replace("s3a://", "s3://"),
        SCHEMA.empty_table(),
        storage_options=_options(s3_server),
    )
    pairing = CommitPairing(PAIR_TIMEOUT_SECONDS)
    with s3_proxy(s3_server.url, pairing=pairing) as proxy:
        env = job_env(dataclasses.replace(s3_server, url=proxy.url), s3_jars, tmp_path / "home")
        results = _race(s3_server, pairing, table, logstore, env, tmp_path)
    for result in results:
        assert result.returncode == 0, result.stdout[-3000:]  # every writer thinks it won

    after = _delta_rs(s3_server, table)
    rows = after.to_pyarrow_table().to_pylist()
    versions = sorted(commit["version"] for commit in after.history())
    commits = proxy.log.puts()
    everything = {(name, round_index) for name in WRITERS for round_index in range(ROUNDS)}
    if logstore == CONDITIONAL_LOGSTORE:
        # One collision every round, the loser retried as the next version: nothing lost.
        assert len(proxy.log.refused_puts()) == ROUNDS
        assert {(row["writer"], row["round"]) for row in rows} == everything
        assert len(rows) == len(everything)
        assert versions == list(range(2 * ROUNDS + 1))
        assert all(condition == "*" for _, condition, _ in commits)
    else:
        # Both commits of each contested version "succeeded": the second replaced the first.
        contested = [path for path, _, _ in commits]
        assert len(contested) == 2 * ROUNDS and len(set(contested)) == ROUNDS
        assert len(rows) == ROUNDS  # one writer's row lost every round, with exit code 0
        assert versions == list(range(ROUNDS + 1))
