"""Open remote archives for random access, and turn the Hub's refusals into one clear sentence."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

import fsspec

from converter.errors import AccessError
from converter.release import REPO_ID

BLOCK_SIZE = 1 << 20
CACHED_BLOCKS = 64
RETRIES = 4


def open_remote(url: str, token: str | bool | None = None) -> BinaryIO:
    """A seekable file over `hf://` or `http(s)://`, fetched in blocks by range requests.

    A block cache (rather than fsspec's single read-ahead buffer) keeps the photos'
    and the annotations' regions of the zip cached side by side.
    """
    with translate_access_errors(url):
        filesystem, path = _filesystem(url, token)
        file = filesystem.open(
            path,
            "rb",
            block_size=BLOCK_SIZE,
            cache_type="blockcache",
            cache_options={"maxblocks": CACHED_BLOCKS},
        )
    return RetryingFile(file, url)


def _filesystem(url: str, token: str | bool | None) -> tuple[fsspec.AbstractFileSystem, str]:
    if url.startswith("hf://"):
        from huggingface_hub import HfFileSystem

        return HfFileSystem(token=token), url
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers

    on_hub = url.startswith(constants.ENDPOINT)
    headers = build_hf_headers(token=token) if on_hub or isinstance(token, str) else {}
    return fsspec.filesystem("http", headers=headers), url


class RetryingFile:
    """The minimum of a binary file `zipfile` needs, retrying reads that a network fault broke."""

    def __init__(self, file: Any, label: str) -> None:
        self._file = file
        self._label = label

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def read(self, size: int = -1) -> bytes:
        start = self._file.tell()
        for attempt in range(RETRIES):
            try:
                with translate_access_errors(self._label):
                    return self._file.read(size)
            except AccessError:
                raise
            except Exception as error:
                if attempt == RETRIES - 1 or not _is_transient(error):
                    raise
                time.sleep(0.2 * 2**attempt)
                self._file.seek(start)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._file.close()


def _is_transient(error: BaseException) -> bool:
    """Network trouble worth another try, as opposed to a missing file or a refusal."""
    if isinstance(error, (FileNotFoundError, PermissionError)):
        return False
    status = _status(error)
    return status is None or status >= 500 or status == 429


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(error, "status", None) or getattr(response, "status_code", None)


@contextlib.contextmanager
def translate_access_errors(label: str) -> Iterator[None]:
    """Raise AccessError when the Hub (or a server acting for it) refuses us for lack of access."""
    try:
        yield
    except Exception as error:
        status = next(filter(None, map(_status, _chain(error))), None)
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
