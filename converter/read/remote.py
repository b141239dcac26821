"""Open remote archives for random access; a network failure becomes one sentence saying what to do.

Who gets credentials: the Hub token (`token=`, `HF_TOKEN` or the stored login) is sent only to
the Hub, that is to `hf://` paths and to URLs whose scheme, host and port are the endpoint's
(`HF_ENDPOINT`). Any other http(s) server gets the headers the user names for it in
IMAGENET3D_HTTP_HEADERS (a private mirror), and nothing else. Either set of headers goes only to
the origin (scheme, host, port) the user named: a redirect to another origin gets none of them.

What a reply may cost: identity encoding is asked and nothing is decoded, so a reply is as large
as what the server sends; a range reply declaring more bytes than were asked, or no length, is
refused before its body is read.

How long: every request waits at most `HF_HUB_DOWNLOAD_TIMEOUT` seconds (huggingface_hub's
setting, default 10) to connect and then for each next piece of the answer. A time-out, a dropped
connection, 408, 429 or a 5xx is tried again, ATTEMPTS times in all with a doubling pause; `hf://`
reads are already retried that way inside huggingface_hub, so they are not retried again here.
Anything else (404, a refusal, offline mode) is final at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from converter.core.errors import AccessError, NetworkError
from converter.core.release import REPO_ID

if TYPE_CHECKING:
    import fsspec  # loaded by `_filesystem`, for remote sources only

MIN_FETCH = 16 << 10
KEPT_WINDOWS = 4
ATTEMPTS = 3
FIRST_PAUSE = 1.0  # seconds before the second attempt, doubled before each later one
MIRROR_HEADERS = "IMAGENET3D_HTTP_HEADERS"
TIMEOUT_SETTING = "HF_HUB_DOWNLOAD_TIMEOUT"
RETRIED_STATUSES = (408, 429)
T = TypeVar("T")


def open_remote(url: str, token: str | bool | None = None) -> RemoteFile:
    """A seekable file over `hf://` or `http(s)://` that reads by range requests."""
    filesystem, path = _filesystem(url, token)
    file = with_retries(url, "opening", lambda: filesystem.open(path, "rb", cache_type="none"))
    return RemoteFile(file, url, attempts=1 if url.startswith("hf://") else ATTEMPTS)


def timeout() -> float:
    """Seconds a request may wait to connect, and then for each next piece of the answer."""
    from huggingface_hub import constants

    return float(constants.HF_HUB_DOWNLOAD_TIMEOUT)


def on_hub(url: str) -> bool:
    """True for `hf://` paths and URLs with the endpoint's scheme, host and port (never a prefix)."""
    from huggingface_hub import constants

    if url.startswith("hf://"):
        return True
    origin = _origin(url)
    return origin is not None and origin == _origin(constants.ENDPOINT)


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # a port that is not a number
        return None
    if parts.hostname is None or port is None:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def mirror_headers() -> dict[str, str]:
    """The headers the user set for servers other than the Hub: `Name: value`, one a line."""
    headers = {}
    for line in os.environ.get(MIRROR_HEADERS, "").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"{MIRROR_HEADERS}: expected 'Name: value' lines, got {line!r}")
        headers[name.strip()] = value.strip()
    return headers


def _filesystem(url: str, token: str | bool | None) -> tuple[fsspec.AbstractFileSystem, str]:
    if url.startswith("hf://"):
        from huggingface_hub import HfFileSystem

        return HfFileSystem(token=token), url
    import aiohttp
    import fsspec
    from huggingface_hub.utils import build_hf_headers

    headers = build_hf_headers(token=token) if on_hub(url) else mirror_headers()
    client = {
        "timeout": aiohttp.ClientTimeout(total=None, connect=timeout(), sock_read=timeout()),
        "middlewares": (OriginHeaders(_origin(url), tuple(headers.items())),),
        "auto_decompress": False,
    }
    identity = {"Accept-Encoding": "identity"}
    return fsspec.filesystem("http", headers=identity, client_kwargs=client), url


class UnsafeReply(ValueError):
    """A reply that is not the plain bytes asked for; final, as asking again gets the same."""


@dataclass(frozen=True)
class OriginHeaders:
    """An aiohttp middleware giving `headers` to requests for `origin` only, redirects included.

    aiohttp strips only `Authorization` and `Cookie` when a redirect leaves the origin; a key in
    any other header (`X-Api-Key`, `PRIVATE-TOKEN`) would follow it. Replies are checked by
    `check_reply` before their body is read.
    """

    origin: tuple[str, str, int] | None
    headers: tuple[tuple[str, str], ...]

    async def __call__(self, request: Any, handler: Any) -> Any:
        if self.origin is not None and _origin(str(request.url)) == self.origin:
            request.headers.update(self.headers)
        response = await handler(request)
        try:
            check_reply(request.headers.get("Range"), response.status, response.headers)
        except UnsafeReply:
            response.close()
            raise
        return response


def check_reply(asked: str | None, status: int, headers: Any) -> None:
    """Refuse a successful reply that is encoded, or a range reply that does not declare a
    length within the range asked.

    Nothing is decoded, so a reply is as large as its body: a 206 that declares no more bytes
    than asked costs no more memory than the range.
    """
    if status not in (200, 206):
        return
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        raise UnsafeReply(f"the server sent {encoding}-encoded bytes though identity was asked")
    bounds = re.fullmatch(r"bytes=(\d+)-(\d+)", asked or "")
    if status != 206 or not bounds:
        return
    wanted = int(bounds[2]) - int(bounds[1]) + 1
    length = headers.get("Content-Length", "")
    if not length.isdigit():
        raise UnsafeReply(f"the server answered a range of {wanted} bytes without its length")
    if int(length) > wanted:
        raise UnsafeReply(f"the server answered {length} bytes for a range of {wanted}")


def with_retries(label: str, what: str, action: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """`action`, tried again after passing network trouble; anything else is final at once.

    Whatever the outcome, a failure is a NetworkError or AccessError whose one line names the
    URL, what was tried and for how long, the cause, and what to do.
    """
    _refuse_offline(label)
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            with translate_access_errors(label):
                return action()
        except (AccessError, MemoryError):
            raise  # not the network's doing: another try would fail the same way
        except Exception as error:
            failure = diagnose(error, on_hub(label))
            if failure.transient and attempt < attempts:
                time.sleep(FIRST_PAUSE * 2 ** (attempt - 1))
                continue
            elapsed = time.monotonic() - started
            raise NetworkError(failure.sentence(label, what, attempt, elapsed)) from error
    raise AssertionError("unreachable")


def _refuse_offline(label: str) -> None:
    """Offline mode is the user's decision, not a fault to retry."""
    from huggingface_hub import constants

    if constants.is_offline_mode():
        raise NetworkError(
            f"{label}: not read because HF_HUB_OFFLINE is set (no network use); unset it, "
            "or give a local copy of the archive"
        )


@dataclass(frozen=True)
class Failure:
    """What went wrong with a request, whether another try may help, and what the user can do."""

    cause: str
    fix: str
    transient: bool

    def sentence(self, label: str, what: str, attempts: int, elapsed: float) -> str:
        """One line; how it was tried is told when it took more than one try or a second
        (`hf://` reads are retried inside huggingface_hub, out of sight of the count)."""
        tried = f" {attempts} attempts over" if attempts > 1 else ""
        spent = f" after{tried} {elapsed:.0f} s" if attempts > 1 or elapsed >= 1 else ""
        return f"{label}: {what} failed{spent}: {self.cause}; {self.fix}"


def diagnose(error: BaseException, hub: bool = False) -> Failure:
    """The cause of a failed request as the user needs it: HTTP status, time-out or OS error.

    `hub` says the request went to the Hub, whose 401 or 404 may be a private repository the token
    cannot see rather than a missing one.
    """
    causes = list(_chain(error))
    unsafe = next((cause for cause in causes if isinstance(cause, UnsafeReply)), None)
    if unsafe is not None:
        return Failure(str(unsafe), "download the archive, or use another server", False)
    status = next(filter(None, map(_status, causes)), None)
    if status is not None:
        return _status_failure(status, hub)
    if any(type(cause).__name__ == "OfflineModeIsEnabled" for cause in causes):
        return Failure("HF_HUB_OFFLINE is set", "unset it, or give a local copy", False)
    if any(_timed_out(cause) for cause in causes):
        return Failure(
            f"no answer within {timeout():g} s",
            f"check the network, or allow more time with {TIMEOUT_SETTING}=<seconds>",
            True,
        )
    innermost = causes[-1]
    detail = str(innermost) or type(innermost).__name__
    if isinstance(innermost, OSError) and innermost.errno is not None:
        return Failure(detail, "check the address and the network", True)
    if isinstance(error, FileNotFoundError) and innermost is error:
        return Failure("not found", "check the address", False)
    return Failure(f"{type(innermost).__name__}: {detail}", "check the network and retry", True)


def _status_failure(status: int, hub: bool) -> Failure:
    try:
        cause = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        cause = f"HTTP {status}"
    if status in (401, 403, 404) and hub:
        fix = (
            "check the repository and file name, and your token (`hf auth login`) if it is private"
        )
        return Failure(cause, fix, False)
    if status in (401, 403):
        from huggingface_hub import constants

        fix = (
            f"the Hub token is sent only to {constants.ENDPOINT}; a private mirror's credentials "
            f"go in {MIRROR_HEADERS}='Authorization: ...'"
        )
        return Failure(cause, fix, False)
    if status == 404:
        return Failure(cause, "check the address", False)
    if status in RETRIED_STATUSES or status >= 500:
        return Failure(cause, "the server is busy or failing: try again later", True)
    return Failure(cause, "check the address", False)


def _timed_out(error: BaseException) -> bool:
    return isinstance(error, TimeoutError) or type(error).__name__.endswith("TimeoutException")


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(error, "status", None) or getattr(response, "status_code", None)


def _error_code(error: BaseException) -> str | None:
    """The Hub's `X-Error-Code` header, when the error carries its response's headers."""
    headers = getattr(error, "headers", None) or getattr(
        getattr(error, "response", None), "headers", None
    )
    return headers.get("X-Error-Code") if hasattr(headers, "get") else None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


@contextlib.contextmanager
def translate_access_errors(label: str) -> Iterator[None]:
    """Raise AccessError when the Hub itself refuses the gated repository (`X-Error-Code`)."""
    try:
        yield
    except Exception as error:
        causes = list(_chain(error))
        if on_hub(label) and any(_error_code(cause) == "GatedRepo" for cause in causes):
            status = next(filter(None, map(_status, causes)), None)
            raise AccessError(access_message(label, status)) from error
        raise


def access_message(label: str, status: int | None) -> str:
    """The one sentence a user needs when the gated release refuses them."""
    from huggingface_hub import constants

    page = f"{constants.ENDPOINT}/datasets/{REPO_ID}"
    if status == 403:
        return (
            f"Access to {label} was refused (403): your token has not been granted access to the "
            f"gated dataset {REPO_ID}; request access on {page} and try again once it is approved."
        )
    return (
        f"{label} is gated and no valid token was sent: log in with `hf auth login` (or pass "
        f"token=...), and request access on {page} if you have not yet."
    )


class RemoteFile:
    """The binary file `zipfile` needs, fetching each span it asks for in one range request.

    `prefetch` takes a whole zip member (header and data) at once; any other read fetches
    at least MIN_FETCH bytes, so consecutive tiny members (annotations, split lists) share
    a request. The last few windows are kept, so the photos' and the annotations' regions
    of the archive do not evict each other. A fetch broken by the network is tried again.
    """

    def __init__(self, file: Any, label: str, attempts: int = ATTEMPTS) -> None:
        self._file = file
        self._label = label
        self._attempts = attempts
        self.size: int = file.size
        self._position = 0
        self._windows: OrderedDict[int, bytes] = OrderedDict()

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        start = self._position
        end = self.size if size < 0 else min(self.size, start + size)
        data = self._cached(start, end)
        if data is None:
            data = self._fetch(start, end)[: end - start]
        self._position += len(data)
        return data

    def prefetch(self, start: int, end: int) -> None:
        """Make [start, end) one request (at least MIN_FETCH long), unless it is already at hand."""
        end = min(end, self.size)
        if self._cached(start, end) is None:
            self._fetch(start, end)

    def close(self) -> None:
        self._file.close()

    def _cached(self, start: int, end: int) -> bytes | None:
        for origin, window in self._windows.items():
            if origin <= start and end <= origin + len(window):
                self._windows.move_to_end(origin)
                return window[start - origin : end - origin]
        return None

    def _fetch(self, start: int, end: int) -> bytes:
        """[start, end) widened to MIN_FETCH bytes, in one request, kept as a window."""
        end = min(self.size, max(end, start + MIN_FETCH))

        def read() -> bytes:
            self._file.seek(start)
            return self._file.read(end - start)

        what = f"reading bytes {start}-{end}"
        data = with_retries(self._label, what, read, self._attempts)
        self._windows[start] = data
        while len(self._windows) > KEPT_WINDOWS:
            self._windows.popitem(last=False)
        return data
