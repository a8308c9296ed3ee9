"""The Spark JVM's console: its lines reach stderr, except the two that come on every run."""

from __future__ import annotations

import os
import threading

import pytest

from forecast_core import jvm_console

CHATTER = [
    b"WARNING: Using incubator modules: jdk.incubator.vector\n",
    b"Deleted 0 files and directories in a total of 12 directories.\n",
    b"Deleted 3 files and directories in a total of 1 directories.\n",
]
NEWS = [
    b"26/12/03 06:00:01 ERROR Executor: Exception in task 0.0 in stage 1.0\n",
    b"WARNING: Using incubator modules: jdk.incubator.foreign\n",
    b"Deleted 3 files from the scratch folder\n",
    b"Error: Could not find or load main class org.apache.spark.deploy.SparkSubmit\n",
]


@pytest.mark.parametrize("line", CHATTER)
def test_the_known_lines_are_chatter(line: bytes) -> None:
    assert jvm_console.is_chatter(line)


@pytest.mark.parametrize("line", NEWS)
def test_everything_else_is_news(line: bytes) -> None:
    assert not jvm_console.is_chatter(line)


def test_the_console_is_copied_to_stderr_without_the_chatter(capfd) -> None:
    read_end, write_end = os.pipe()
    reader = threading.Thread(target=jvm_console._forward, args=(read_end,))
    reader.start()
    for line in [CHATTER[0], NEWS[0], CHATTER[1], NEWS[3]]:
        os.write(write_end, line)
    os.close(write_end)  # the JVM exits: the reader ends
    reader.join(timeout=10)
    assert not reader.is_alive()
    captured = capfd.readouterr()
    assert captured.err.encode() == NEWS[0] + NEWS[3]
    assert captured.out == ""
