"""Is a tracking URI a server, can this MLflow open it, does it answer: decided here only.

No MLflow import: the CLI and ``config`` import this to validate settings.
"""

from __future__ import annotations

import importlib.util
import time
import urllib.parse
from typing import TYPE_CHECKING

from forecast_core.errors import RegistryError
from forecast_core.redaction import redact_credentials

if TYPE_CHECKING:
    import urllib.request

_HTTP_SCHEMES = ("http://", "https://")
# What MLflow's SQL store needs beyond mlflow-skinny.
_SQL_STORE_LIBRARIES = ("sqlalchemy", "alembic")


def is_tracking_server(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` names a server (HTTP, Databricks) rather than a local store."""
    return tracking_uri.startswith((*_HTTP_SCHEMES, "databricks"))


def check_tracking_store(tracking_uri: str) -> None:
    """Fail with one line if ``tracking_uri`` is a database this MLflow cannot open.

    mlflow-skinny (the job image's MLflow) has no SQLAlchemy store, so the embedded SQLite
    default cannot work there; without this check MLflow raises a raw
    ``UnsupportedModelRegistryStoreURIException`` traceback.

    The SQL store's libraries are looked up, not imported: importing MLflow's SQL store
    costs about 3 s, and a run with nothing to do opens no registry at all.

    Raises:
        RegistryError: The URI names a database and MLflow's SQL store libraries are missing.
    """
    scheme = urllib.parse.urlsplit(tracking_uri).scheme.partition("+")[0]
    if scheme not in ("sqlite", "postgresql", "mysql", "mssql"):
        return
    missing = [name for name in _SQL_STORE_LIBRARIES if importlib.util.find_spec(name) is None]
    if missing:
        raise RegistryError(
            f"MLflow tracking URI {redact_credentials(tracking_uri)} is a database, but this "
            f"installation has no SQL store ({missing[0]} is missing, e.g. mlflow-skinny); "
            "set MLFLOW_TRACKING_URI or --tracking-uri to a tracking server URL (http://...)"
        )


def check_tracking(tracking_uri: str) -> None:
    """Both checks a registry needs before it opens: the store can be opened, the server answers.

    Raises:
        RegistryError: From ``check_tracking_store`` or ``check_tracking_server``.
    """
    check_tracking_store(tracking_uri)
    check_tracking_server(tracking_uri)


def check_tracking_server(
    tracking_uri: str, attempts: int = 3, timeout_seconds: float = 5.0, backoff_seconds: float = 1.0
) -> None:
    """Fail fast, with bounded retries, if an HTTP tracking server does not answer.

    Local stores (``sqlite:``, ``file:``, paths) need no server and are not checked.

    Raises:
        RegistryError: The server did not answer ``/health`` after ``attempts`` tries.
    """
    if not tracking_uri.startswith(_HTTP_SCHEMES):
        return
    # urllib is imported only when a server is checked: every command imports this module
    # (through config) at start, and urllib.request costs about a tenth of that start.
    import urllib.error
    import urllib.request

    health = _health_request(tracking_uri)
    last_error = ""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(health, timeout=timeout_seconds):
                return
        except (urllib.error.URLError, OSError) as error:
            last_error = str(getattr(error, "reason", error))
        if attempt + 1 < attempts:
            time.sleep(backoff_seconds * 2**attempt)
    raise RegistryError(
        f"MLflow tracking server {redact_credentials(tracking_uri)} is unreachable "
        f"({last_error}) after {attempts} attempts; expected a running server"
    )


def _health_request(tracking_uri: str) -> urllib.request.Request:
    """A GET of the server's /health; ``user:password@`` in the URI becomes basic auth.

    urllib cannot open a URL with credentials in it (MLflow's requests-based client can),
    so they move to a header.
    """
    import base64
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(tracking_uri)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    url = urllib.parse.urlunsplit(
        (parts.scheme, netloc, f"{parts.path.rstrip('/')}/health", "", "")
    )
    request = urllib.request.Request(url)
    if parts.username:
        token = base64.b64encode(
            f"{urllib.parse.unquote(parts.username)}:"
            f"{urllib.parse.unquote(parts.password or '')}".encode()
        ).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request
