"""Keep credentials out of everything the project prints or stores as text."""

from __future__ import annotations

import re

# The user-info part of any URL in a text: scheme://user:password@host -> scheme://***@host
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s'\"]+@")


def redact_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it replaced by ``***@``."""
    return _URL_CREDENTIALS.sub("***@", text)
