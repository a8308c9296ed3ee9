"""The address of a Spark Connect server (``sc://host:port``): checked, and reached once
before a command writes anything; and the server's heap size, checked before it starts.

Light on purpose (no Spark, no gRPC): the jobs check the address when their options are
parsed and the server when their stores open.
"""

from __future__ import annotations

import re
import socket
from typing import NamedTuple

from forecast_core.errors import ConfigError

EXPECTED_FORM = "sc://HOST:PORT[/;param=value...]"
_ADDRESS = re.compile(
    r"sc://(?P<host>[A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})(?:/(?:;[^;=/]+=[^;]*)*)?"
)
_HEAP_SIZE = re.compile(r"[1-9][0-9]*[kKmMgGtT]")
# How long the check before a command waits for the server to accept a connection.
REACH_TIMEOUT_SECONDS = 5.0


class ConnectAddress(NamedTuple):
    """Where a Spark Connect server listens."""

    host: str
    port: int


def parse_remote(remote: str) -> ConnectAddress:
    """The host and port of a Spark Connect URL.

    Raises:
        ConfigError: ``remote`` is not ``sc://HOST:PORT`` (optionally ``/;param=value``).
    """
    match = _ADDRESS.fullmatch(remote)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ConfigError(
            f"Spark Connect address {remote!r} is not valid; expected {EXPECTED_FORM}"
        )
    return ConnectAddress(match["host"].strip("[]"), int(match["port"]))


def check_reachable(remote: str, timeout_seconds: float = REACH_TIMEOUT_SECONDS) -> None:
    """Open and close one TCP connection to the server of ``remote``.

    Raises:
        ConfigError: ``remote`` is not valid, or nothing accepts a connection there
            within ``timeout_seconds``.
    """
    address = parse_remote(remote)
    try:
        with socket.create_connection(address, timeout=timeout_seconds):
            pass
    except OSError as error:
        raise ConfigError(
            f"Spark Connect server {remote!r} is not reachable ({error.strerror or error}); "
            f"expected a running server (`forecast connect-server`)"
        ) from None


def parse_heap_size(size: str) -> str:
    """A JVM heap size as ``spark-submit --driver-memory`` takes it (``4g``, ``512m``).

    Raises:
        ConfigError: ``size`` is not a whole number followed by k, m, g or t.
    """
    if _HEAP_SIZE.fullmatch(size) is None:
        raise ConfigError(f"heap size {size!r} is not valid; expected a JVM size like 4g or 512m")
    return size
