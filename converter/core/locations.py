"""Source locations as they may be written down and published: never with a credential in them.

A URL the user gives may carry a password (`http://user:PASSWORD@host/...`) or a signed query
(`?X-Amz-Signature=...`). Every location a stamp records or a card publishes goes through
`recorded_location`; `push` refuses text in which `find_credential` still finds one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# Query parameters that sign or authorise a request (S3, Google Cloud Storage, CloudFront,
# Azure SAS, and the usual token names).
CREDENTIAL_PARAMETERS = (
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "signature",
    "key-pair-id",
    "policy",
    "sig",
    "token",
    "access_token",
    "api_key",
    "apikey",
)
_USER_INFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s@]+@", re.IGNORECASE)
_PARAMETER = re.compile(
    rf"[?&;](?:{'|'.join(map(re.escape, CREDENTIAL_PARAMETERS))})=", re.IGNORECASE
)
_HUB_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}")


def recorded_location(location: str) -> tuple[str, list[str]]:
    """`location` without user info, query string or fragment, and the names of what was cut.

    Anything but an http(s) URL is returned as it is (a local path, an `hf://` path, whose `@`
    names a revision).
    """
    parts = urlsplit(location)
    if parts.scheme.lower() not in ("http", "https"):
        return location, []
    host = parts.netloc.rpartition("@")[2]
    cut = [
        what
        for what, present in (
            ("user info", "@" in parts.netloc),
            ("query string", bool(parts.query)),
            ("fragment", bool(parts.fragment)),
        )
        if present
    ]
    return urlunsplit((parts.scheme, host, parts.path, "", "")), cut


def find_credential(text: str) -> str | None:
    """What in `text` is a credential, named without its value, or None: user info in a URL,
    a signing or token query parameter, a Hub token."""
    if _USER_INFO.search(text):
        return "user info in a URL"
    parameter = _PARAMETER.search(text)
    if parameter:
        return f"the query parameter {parameter.group()[1:-1]}"
    if _HUB_TOKEN.search(text):
        return "a Hub token"
    return None
