"""A write's rows staged as one Parquet file that Spark scans, instead of ``createDataFrame``.

``createDataFrame`` holds the rows in the driver's heap and copies them into every task
(a million rows is ~150 MB of Arrow; on a local master the 1 GiB default heap ran out
after a few such writes and the scheduler hung); through Spark Connect they also cross
gRPC and stay in the server's heap until their session ends. A scan of a Parquet file
costs neither, and writing it costs no time (0.6 s a million rows, won back in the scan).

On a local master the file goes to this process's temporary folder. A cluster's
executors and a Connect server cannot read that folder, but they reach the table's own
storage (they write the table there): the file then goes to ``_staging/`` under the
table's root, which Spark, Delta, delta-rs and pyarrow all skip (a ``_`` name is hidden
to each), and is deleted after the write. Files that a killed writer left there are
deleted by a later write, once an hour old.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from forecast_core.errors import TableError, first_line
from forecast_core.names import S3A_SCHEME
from forecast_core.s3 import S3Settings, is_s3

# The folder under a table's root where a write stages its rows for remote executors.
STAGING_FOLDER = "_staging"
# A write's staged files live for seconds to minutes; one this old was left by a kill.
STALE_SECONDS = 3600
# Rows per row group (50 forecasts of 2,000): the groups split the scan across the cores.
_ROW_GROUP = 100_000


def staging_folder(location: str) -> str | None:
    """Where a write to the table path ``location`` stages its rows for executors that do
    not share this machine's disk, or None where this process cannot write files the
    executors read (a scheme other than a local path or ``s3a://``)."""
    if not (is_s3(location) or "://" not in location.removeprefix("file://")):
        return None
    return f"{location.rstrip('/')}/{STAGING_FOLDER}"


def arrow_rows(rows: pd.DataFrame, schema: StructType, location: str, name: str) -> pa.Table:
    """``rows`` as Arrow, typed by the Spark ``schema`` (named ``name``) of the table at
    ``location``; naive timestamps are UTC, as the session reads them.

    Raises:
        TableError: The rows do not fit the schema.
    """
    try:
        return pa.Table.from_pandas(
            rows, schema=to_arrow_schema(schema, timezone="UTC"), preserve_index=False
        )
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise TableError(
            f"rows for {location!r} do not fit the {name} schema: {first_line(error)}"
        ) from error


@contextlib.contextmanager
def staged_file(rows: pa.Table, folder: str) -> Iterator[str]:
    """Write ``rows`` to a new Parquet file in ``folder`` (a local path or ``s3a://``
    URI); yield the URI Spark reads it by, and delete the file once the block is done."""
    filesystem, base = _filesystem(folder)
    if isinstance(filesystem, pafs.LocalFileSystem):  # S3 needs no folder before a file
        filesystem.create_dir(base, recursive=True)
    _remove_stale(filesystem, base)
    path = f"{base}/rows-{uuid.uuid4().hex}.parquet"
    # Uncompressed: read once, at once. No dictionary for floating-point columns (the
    # paths): it never pays for them, and decoding it back was 5-9% of the JVM's samples
    # in a profiled 2-million-row write.
    pq.write_table(
        rows,
        path,
        filesystem=filesystem,
        compression="none",
        row_group_size=_ROW_GROUP,
        use_dictionary=[f.name for f in rows.schema if not pa.types.is_floating(f.type)],
    )
    uri = S3A_SCHEME + path if isinstance(filesystem, pafs.S3FileSystem) else Path(path).as_uri()
    try:
        yield uri
    finally:
        with contextlib.suppress(OSError):  # best effort: a later write removes it
            filesystem.delete_file(path)


def _filesystem(folder: str) -> tuple[pafs.FileSystem, str]:
    """The file system of ``folder`` and the folder's path in it."""
    if is_s3(folder):
        return S3Settings.from_env().arrow_filesystem(), folder[len(S3A_SCHEME) :]
    return pafs.LocalFileSystem(), str(Path(folder.removeprefix("file://")).resolve())


def _remove_stale(filesystem: pafs.FileSystem, base: str) -> None:
    """Delete the files in ``base`` older than ``STALE_SECONDS``."""
    cutoff = time.time() - STALE_SECONDS
    for info in filesystem.get_file_info(pafs.FileSelector(base, allow_not_found=True)):
        old = info.mtime is not None and info.mtime.timestamp() < cutoff
        if info.type == pafs.FileType.File and old:
            with contextlib.suppress(OSError):  # another writer removed it first
                filesystem.delete_file(info.path)
