"""The Spark JVM's console output: passed on to our stderr, minus the lines that are not news.

PySpark starts the JVM with our stdout and stderr, so whatever it prints lands in the job
log as if the job had said it. Two lines came on every run, measured on PySpark 4.2.0 and
Delta 4.4.0, and said nothing about it:

- ``WARNING: Using incubator modules: jdk.incubator.vector``: Spark's launcher gives every
  JVM ``--add-modules=jdk.incubator.vector`` (``JavaModuleOptions``), and the JVM warns
  about it on stderr; no JVM option turns the warning off.
- ``Deleted 0 files and directories in a total of 12 directories.``: Delta's VACUUM prints
  it with Scala's ``println`` (``DatabricksLogging.logConsole``), on stdout, before the
  command's own line.

So the JVM is started here with both streams on one pipe, which a daemon thread reads line
by line into our stderr (the real file descriptor 2, wherever ``sys.stderr`` points),
leaving out the lines of ``JVM_CHATTER``. Everything else the JVM prints (log4j errors,
a failed start) still shows, as it happens. Spark's own startup notice about log levels is
switched off in ``log4j2.properties`` instead.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping

from pyspark import SparkConf, SparkContext
from pyspark.java_gateway import launch_gateway

JVM_CHATTER: tuple[re.Pattern[bytes], ...] = (
    re.compile(rb"^WARNING: Using incubator modules: jdk\.incubator\.vector\s*$"),
    re.compile(rb"^Deleted \d+ files and directories in a total of \d+ directories\.\s*$"),
)
_STDERR = 2


def start_jvm(conf: Mapping[str, str]) -> None:
    """Start the process's Spark JVM with ``conf``, its console filtered; once per process.

    PySpark's ``SparkContext`` then finds the gateway and uses it, with the same settings
    it would have passed to ``spark-submit`` itself. Does nothing if a JVM runs already.

    Args:
        conf: Every Spark setting of the session (``spark.master`` and the rest).
    """
    if SparkContext._gateway is not None:
        return
    read_end, write_end = os.pipe()
    threading.Thread(
        target=_forward, args=(read_end,), name="spark-jvm-console", daemon=True
    ).start()
    try:
        gateway = launch_gateway(
            SparkConf(loadDefaults=False).setAll(list(conf.items())),
            popen_kwargs={"stdout": write_end, "stderr": write_end},
        )
    finally:
        os.close(write_end)  # the JVM holds its own copy; the reader ends when the JVM does
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm


def is_chatter(line: bytes) -> bool:
    """Whether a line of the JVM's console is one of ``JVM_CHATTER``."""
    return any(pattern.match(line) for pattern in JVM_CHATTER)


def _forward(read_end: int) -> None:
    """Copy the JVM's lines to file descriptor 2, leaving out the chatter, until EOF."""
    with os.fdopen(read_end, "rb") as console:
        for line in console:
            if not is_chatter(line):
                os.write(_STDERR, line)
