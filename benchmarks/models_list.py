"""How fast ``forecast models list`` answers, on an embedded store and on an MLflow server.

    python benchmarks/models_list.py [--versions-per-model N] [--runs N]

Registers 4 models x ``--versions-per-model`` (15: 60 versions, a 2018-2024 backfill of
the four base models of one commodity) in a new SQLite store, starts an ``mlflow server``
on a copy of it on loopback, and times ``python -m jobs models list`` from this checkout
``--runs`` times against each, every run a fresh interpreter. The goal (issue 14) is under
3 s. Like ``run.py``, it prints and does not judge.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cli_startup import StartupFigures, time_command
from forecast_core.registry import naming
from tests.servers import mlflow_server

MODELS = ("naive", "random_walk", "sarimax", "xgboost")
GOAL_SECONDS = 3.0


def make_registry(folder: Path, versions_per_model: int) -> str:
    """A SQLite store with registered coffee versions tagged as the jobs tag them."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("coffee", artifact_location=str(folder / "artifacts"))
    for model in MODELS:
        name = naming.registered_model_name("coffee", model)
        client.create_registered_model(name)
        for i in range(versions_per_model):
            training = dt.date(2018 + i // 2, 1 if i % 2 == 0 else 7, 1)
            run = client.create_run(experiment)
            client.create_model_version(
                name,
                str(folder / "artifacts" / run.info.run_id),
                run_id=run.info.run_id,
                tags={
                    naming.COMMODITY_TAG: "coffee",
                    naming.MODEL_NAME_TAG: model,
                    naming.MODEL_VERSION_TAG: "v1.0",
                    naming.TRAINING_DATE_TAG: training.isoformat(),
                    naming.DATA_CUTOFF_DATE_TAG: (training - dt.timedelta(days=1)).isoformat(),
                    naming.MODEL_ID_TAG: f"Coffee_{model}_{training}_v1.0",
                },
            )
    return uri


def main(argv: Sequence[str] | None = None) -> int:
    """Build the store, start the server, time both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions-per-model", type=int, default=15)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="models-list-bench-"))
    try:
        embedded = make_registry(folder, args.versions_per_model)
        server_folder = folder / "server"
        server_folder.mkdir()
        shutil.copy(folder / "mlflow.db", server_folder / "server.db")
        with mlflow_server(server_folder) as server:
            figures = [
                _figures("server", server, args.runs),
                _figures("sqlite", embedded, args.runs),
            ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"forecast models list, {len(MODELS) * args.versions_per_model} versions:")
    for entry in figures:
        print(entry.describe())
    return 0


def _figures(name: str, tracking_uri: str, runs: int) -> StartupFigures:
    """``models list`` against ``tracking_uri``, timed as the start-up benchmark times."""
    arguments = ("models", "list", "--tracking-uri", tracking_uri)
    return StartupFigures(name, " ".join(arguments), GOAL_SECONDS, time_command(arguments, runs))


if __name__ == "__main__":
    sys.exit(main())
