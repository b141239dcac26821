"""Open remote archives for random access, and turn the Hub's refusals into one clear sentence."""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import fsspec

from converter.core.errors import AccessError, NetworkError
from converter.core.release import REPO_ID

MIN_FETCH = 16 << 10
KEPT_WINDOWS = 4
RETRIES = 4
T = TypeVar("T")


def open_remote(url: str, token: str | bool | None = None) -> RemoteFile:
    """A seekable file over `hf://` or `http(s)://` that reads by range requests."""
    filesystem, path = _filesystem(url, token)
    file = with_retries(url, "opening", lambda: filesystem.open(path, "rb", cache_type="none"))
    return RemoteFile(file, url)


def with_retries(label: str, what: str, action: Callable[[], T]) -> T:
    """`action`, tried again after network trouble; a refusal or a missing file is final."""
    for attempt in range(RETRIES):
        try:
            with translate_access_errors(label):
                return action()
        except AccessError:
            raise
        except Exception as error:
            if not _is_transient(error):
                raise
            if attempt == RETRIES - 1:
                raise NetworkError(
                    f"{label}: {what} failed {RETRIES} times ({type(error).__name__}: {error})"
                ) from error
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def _filesystem(url: str, token: str | bool | None) -> tuple[fsspec.AbstractFileSystem, str]:
    if url.startswith("hf://"):
        from huggingface_hub import HfFileSystem

        return HfFileSystem(token=token), url
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers

    on_hub = url.startswith(constants.ENDPOINT)
    headers = build_hf_headers(token=token) if on_hub or isinstance(token, str) else {}
    return fsspec.filesystem("http", headers=headers), url


class RemoteFile:
    """The binary file `zipfile` needs, fetching each span it asks for in one range request.

    `prefetch` takes a whole zip member (header and data) at once; any other read fetches
    at least MIN_FETCH bytes, so consecutive tiny members (annotations, split lists) share
    a request. The last few windows are kept, so the photos' and the annotations' regions
    of the archive do not evict each other. A fetch broken by the network is tried again.
    """

    def __init__(self, file: Any, label: str) -> None:
        self._file = file
        self._label = label
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

        data = with_retries(self._label, f"reading bytes {start}-{end}", read)
        self._windows[start] = data
        while len(self._windows) > KEPT_WINDOWS:
            self._windows.popitem(last=False)
        return data


def _is_transient(error: BaseException) -> bool:
    """Network trouble worth another try, as opposed to a missing file or a refusal.

    fsspec reports a server error met while sizing a file as FileNotFoundError, so the
    status is looked for along the whole chain of causes.
    """
    status = _chain_status(error)
    if status is not None:
        return status >= 500 or status == 429
    return not isinstance(error, (FileNotFoundError, PermissionError))


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(error, "status", None) or getattr(response, "status_code", None)


def _chain_status(error: BaseException) -> int | None:
    """The first HTTP status along the error's chain of causes."""
    return next(filter(None, map(_status, _chain(error))), None)


@contextlib.contextmanager
def translate_access_errors(label: str) -> Iterator[None]:
    """Raise AccessError when the Hub (or a server acting for it) refuses us for lack of access."""
    try:
        yield
    except Exception as error:
        status = _chain_status(error)
        gated = any(type(cause).__name__ == "GatedRepoError" for cause in _chain(error))
        if gated or status in (401, 403):
            raise AccessError(access_message(label, status)) from error
        raise


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


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
