"""A static file server with byte ranges, for testing plain `https://` sources through fsspec.

with FileServer(folder) as server:
    url = f"{server.url}/imagenet3d_v1.zip"
    server.faults.drop(path="/imagenet3d_v1.zip")   # the next GET hangs up mid-body
    ...
    server.traffic.bytes_served                       # response body bytes sent so far

Two hostile behaviours can be switched on: `redirect_to` answers every request with a 302 to
the same path on another server, and `send_gzip_bombs(size)` answers every range request with a
gzip body (`Content-Encoding: gzip`) that inflates to `size` zero bytes, whatever was asked.
"""

from __future__ import annotations

import gzip
from email.utils import formatdate
from pathlib import Path

from testbed.servers.base import LoopbackHandler, LoopbackServer


class _FileHandler(LoopbackHandler):
    server_version = "LoopbackFiles/1"

    def route(self) -> None:
        if self.command not in ("GET", "HEAD"):
            self.respond(405, {"Allow": "GET, HEAD"})
            return
        owner = self.server.owner
        if owner.redirect_to is not None:
            self.respond(302, {"Location": f"{owner.redirect_to}{self.path}"})
            return
        if owner.gzip_bomb and self.headers.get("Range"):
            self.respond(206, {"Content-Encoding": "gzip"}, owner.gzip_bomb)
            return
        path = self.server.owner.locate(self.url_path)
        if path is None:
            self.respond(404, {})
            return
        stat = path.stat()
        self.send_file(
            path,
            {
                "ETag": f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"',
                "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
            },
        )


class FileServer(LoopbackServer):
    """Serves a folder: URL path = path below it."""

    handler = _FileHandler

    def __init__(self, files: Path) -> None:
        self.files = files
        self.redirect_to: str | None = None
        self.gzip_bomb = b""
        super().__init__()

    def send_gzip_bombs(self, size: int) -> None:
        """Answer every range request with gzip data that inflates to `size` zero bytes."""
        self.gzip_bomb = gzip.compress(bytes(size), compresslevel=9)

    def locate(self, url_path: str) -> Path | None:
        """The local file behind a URL path, None when there is none (or it leaves the folder)."""
        name = url_path.lstrip("/")
        root = self.files.resolve()
        path = (root / name).resolve()
        return path if path.is_file() and path.is_relative_to(root) else None
