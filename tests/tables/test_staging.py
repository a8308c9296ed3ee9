"""Where a write stages its rows for Spark, and what it leaves there (no Spark needed)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forecast_core.tables.staging import (
    STAGING_FOLDER,
    STALE_SECONDS,
    staged_file,
    staging_folder,
)

ROWS = pa.table({"path_id": pa.array([0, 1], pa.int32()), "day_1": [100.0, 101.0]})


@pytest.mark.parametrize(
    ("location", "folder"),
    [
        ("/data/distributions", f"/data/distributions/{STAGING_FOLDER}"),
        ("file:///data/distributions/", f"file:///data/distributions/{STAGING_FOLDER}"),
        ("s3a://bucket/forecasts", f"s3a://bucket/forecasts/{STAGING_FOLDER}"),
        # This process cannot write there (no such file system here): createDataFrame.
        ("gs://bucket/forecasts", None),
        ("abfss://container@account.dfs.core.windows.net/forecasts", None),
    ],
)
def test_the_staging_folder_is_under_the_table_root_where_this_process_can_write(location, folder):
    assert staging_folder(location) == folder


def test_a_staged_file_holds_the_rows_until_the_block_ends(tmp_path):
    folder = tmp_path / "distributions" / STAGING_FOLDER
    with staged_file(ROWS, str(folder)) as uri:
        path = Path(uri.removeprefix("file://"))
        assert uri.startswith("file://") and path.parent == folder
        assert pq.read_table(path).equals(ROWS)
    assert not path.exists()


def test_a_file_a_killed_writer_left_is_removed_once_stale_and_a_recent_one_is_kept(tmp_path):
    folder = tmp_path / STAGING_FOLDER
    folder.mkdir()
    stale, recent = folder / "rows-stale.parquet", folder / "rows-recent.parquet"
    for path in (stale, recent):
        pq.write_table(ROWS, path)
    old = time.time() - STALE_SECONDS - 60
    os.utime(stale, (old, old))  # as if written more than an hour ago and then killed

    with staged_file(ROWS, str(folder)):
        pass

    assert sorted(p.name for p in folder.iterdir()) == ["rows-recent.parquet"]
