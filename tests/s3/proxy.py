"""A loopback HTTP proxy in front of the S3 server, for what moto cannot play by itself:
a store without conditional writes (it strips ``If-None-Match``), a network that loses the
answer to a write the store applied, and two writers whose commits of one Delta version
reach the store together. It records what the clients sent and what the store answered.

moto's server honours ``If-None-Match: *`` and has no switch to ignore it, so the store
that lacks conditional writes is this proxy in front of moto.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# Hop-by-hop headers are the proxy's own (RFC 9110 7.6.1); the rest pass through.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
# A Delta commit: _delta_log/<20 digits>.json (not checkpoints, checksums, temp files).
DELTA_COMMIT = re.compile(r"/_delta_log/\d{20}\.json$")


@dataclass
class ProxyLog:
    """What went through the proxy: one ``(method, path, if_none_match, status)`` per
    request (status 0: the answer was lost)."""

    requests: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def puts(self, pattern: re.Pattern[str] = DELTA_COMMIT) -> list[tuple[str, str | None, int]]:
        """``(path, if_none_match, status)`` of every PUT whose path matches ``pattern``."""
        with self.lock:
            return [(p, c, s) for m, p, c, s in self.requests if m == "PUT" and pattern.search(p)]

    def refused_puts(self, pattern: re.Pattern[str] = DELTA_COMMIT) -> list[str]:
        """Paths of the matching PUTs the store refused as already there (412 or 409)."""
        return [path for path, _, status in self.puts(pattern) if status in (409, 412)]


class CommitPairing:
    """Makes two writers' commits of one Delta version reach the store together, whatever
    their timing: the first PUT of the chosen commit is held until a second PUT of it
    arrives (or ``timeout_seconds`` pass), then the first goes through, then the second."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self.lock = threading.Lock()
        self.chosen: str | None = None
        self.waiting: dict[str, tuple[threading.Event, threading.Event]] = {}

    def pair(self, version: int) -> None:
        """Pair the PUTs of commit ``version`` from now on (and no other's)."""
        with self.lock:
            self.chosen = f"/_delta_log/{version:020d}.json"

    @contextlib.contextmanager
    def turn(self, path: str) -> Iterator[None]:
        """Wait for this PUT's turn, forward it inside the block."""
        with self.lock:
            if self.chosen is None or not path.endswith(self.chosen):
                pair = None
                first = False
            else:
                pair = self.waiting.pop(path, None)
                first = pair is None
                if first:
                    partner, first_done = threading.Event(), threading.Event()
                    self.waiting[path] = (partner, first_done)
        if pair is not None:  # the second of a pair: after the first is through
            pair[0].set()
            pair[1].wait(self.timeout_seconds)
        if not first:
            yield
            return
        partner.wait(self.timeout_seconds)
        with self.lock:
            if self.waiting.get(path) == (partner, first_done):
                del self.waiting[path]  # no partner came: go alone
        try:
            yield
        finally:
            first_done.set()


@dataclass(frozen=True)
class S3Proxy:
    """The proxy's URL (give it as the S3 endpoint) and its log."""

    url: str
    log: ProxyLog


@contextlib.contextmanager
def s3_proxy(
    upstream: str,
    strip_conditional: bool = False,
    lose_first_answer_to: str | None = None,
    pairing: CommitPairing | None = None,
) -> Iterator[S3Proxy]:
    """A proxy on a free loopback port forwarding to ``upstream``; stopped on exit.

    Args:
        upstream: The S3 server's URL (``http://127.0.0.1:PORT``).
        strip_conditional: Drop ``If-None-Match`` from every request: a store that
            ignores conditional writes.
        lose_first_answer_to: For the first PUT whose path ends with this text, forward it
            (the store applies it), then close the connection without an answer, as a
            network failure after the write would.
        pairing: Pairs the PUTs of the commit it is told (``CommitPairing``).
    """
    target = urlparse(upstream)
    log = ProxyLog()
    lost: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: ``log`` records the requests."""

        def _body(self) -> bytes | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        def _send_upstream(self, body: bytes | None) -> tuple[http.client.HTTPResponse, bytes]:
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in _HOP_BY_HOP | {"expect"}
                and not (strip_conditional and name.lower() == "if-none-match")
            }
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                return response, response.read()
            finally:
                connection.close()

        def _forward(self) -> None:
            body = self._body()
            commit = self.command == "PUT" and DELTA_COMMIT.search(self.path)
            turn = pairing.turn(self.path) if pairing and commit else contextlib.nullcontext()
            with turn:
                response, payload = self._send_upstream(body)
            lose = (
                self.command == "PUT"
                and lose_first_answer_to is not None
                and self.path.endswith(lose_first_answer_to)
                and not lost
            )
            with log.lock:
                log.requests.append(
                    (
                        self.command,
                        self.path,
                        self.headers.get("If-None-Match"),
                        0 if lose else response.status,
                    )
                )
            if lose:
                lost.append(self.path)
                self.close_connection = True
                return
            self.send_response(response.status, response.reason)
            # A HEAD answer keeps the object's length; any other carries its own body.
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="s3-proxy", daemon=True)
    thread.start()
    try:
        yield S3Proxy(f"http://127.0.0.1:{server.server_address[1]}", log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
