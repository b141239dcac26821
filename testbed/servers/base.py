"""What both loopback servers share: a thread, traffic counters, fault injection, range serving.

Tests need servers that the real clients (httpx inside huggingface_hub, aiohttp inside fsspec)
talk to over real sockets, that can misbehave on request, and that report exactly what was
asked of them.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 1 << 16
Server = TypeVar("Server", bound="LoopbackServer")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class Request:
    """One answered request, as the server saw it."""

    method: str
    path: str
    status: int
    body_bytes: int
    authorization: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def header_names(self) -> set[str]:
        """The names of the headers the client sent, lower case."""
        return {name.lower() for name, _ in self.headers}


class Traffic:
    """Thread-safe log of answered requests and of the response body bytes actually sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []

    def record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    @property
    def bytes_served(self) -> int:
        return sum(request.body_bytes for request in self.requests)

    def bytes_by_path(self) -> Counter[str]:
        served: Counter[str] = Counter()
        for request in self.requests:
            served[request.path] += request.body_bytes
        return served

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests with this method whose URL path contains `path` (None matches all)."""
        return sum(
            1 for request in self.requests if _matches(request.method, request.path, method, path)
        )

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()


def _matches(method: str, path: str, want_method: str | None, want_path: str | None) -> bool:
    return (want_method is None or method == want_method) and (
        want_path is None or want_path in path
    )


@dataclass
class Fault:
    """A misbehaviour armed for the next `remaining` requests that match method and path."""

    kind: str  # "drop", "error", "slow" or "hang"
    remaining: int
    method: str | None
    path: str | None
    status: int = 500
    delay: float = 0.0

    def cut(self, length: int) -> int:
        """How many body bytes a dropped response sends before the connection closes: half."""
        return length // 2


class Faults:
    """Faults armed at run time; each request consumes at most one (the first armed that matches).

    `path` matches when it is a substring of the request's URL path (None matches every path).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []

    def drop(
        self,
        count: int = 1,
        *,
        method: str | None = "GET",
        path: str | None = None,
    ) -> None:
        """Send the headers and half the body, then hang up.

        A response without a body (HEAD, empty) is dropped before its status line. The request
        itself is processed: a dropped answer to a commit is a lost answer, not a lost commit.
        """
        self._arm(Fault("drop", count, method, path))

    def error(
        self,
        count: int = 1,
        *,
        status: int = 500,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer `status` without processing the request."""
        self._arm(Fault("error", count, method, path, status=status))

    def slow(
        self, delay: float, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Wait `delay` seconds before answering."""
        self._arm(Fault("slow", count, method, path, delay=delay))

    def hang(self, count: int = 1, *, method: str | None = None, path: str | None = None) -> None:
        """Never answer (until the server closes): a peer that accepted and then went silent."""
        self._arm(Fault("hang", count, method, path))

    @property
    def pending(self) -> int:
        """Requests still to be hit by an armed fault: 0 once every armed fault has fired."""
        with self._lock:
            return sum(fault.remaining for fault in self._armed)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._armed:
                if _matches(method, path, fault.method, fault.path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._armed.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def _arm(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append(fault)


@dataclass(frozen=True)
class FileSlice:
    """A response body read from disk: `length` bytes of `path` from `start`."""

    path: Path
    start: int
    length: int

    def chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as file:
            file.seek(self.start)
            left = self.length
            while left > 0:
                chunk = file.read(min(CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk


class RangeNotSatisfiable(ValueError):
    """The requested range starts beyond the end of the file."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, stop) asked by a `Range: bytes=a-b | a- | -n` header; None means the whole file.

    Forms the server does not support (several ranges, other units) are ignored, as RFC 9110 allows.
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(size - suffix, 0), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, size if last == "" else min(int(last) + 1, size)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Reads the request, applies any armed fault, then hands over to `route`."""

    protocol_version = "HTTP/1.1"
    server: _Server
    url_path: str
    query: dict[str, list[str]]
    body: bytes
    fault: Fault | None

    def route(self) -> None:
        raise NotImplementedError

    def handle_request(self) -> None:
        parts = urlsplit(self.path)
        self.url_path = unquote(parts.path)
        self.query = parse_qs(parts.query)
        self.body = self._read_body()
        self.fault = self.server.owner.faults.take(self.command, self.url_path)
        if self.fault is not None:
            time.sleep(self.fault.delay)
        if self.fault is not None and self.fault.kind == "hang":
            self.server.owner.closing.wait()
            self._record(0, 0)
            self._hang_up()
            return
        if self.fault is not None and self.fault.kind == "error":
            self.respond_json(self.fault.status, {"error": "Injected fault"})
            return
        self.route()

    do_GET = do_HEAD = do_POST = do_PUT = handle_request

    def respond_json(
        self, status: int, data: object, headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(data).encode()
        self.respond(status, {"Content-Type": "application/json", **(headers or {})}, body)

    def send_file(self, path: Path, headers: Mapping[str, str]) -> None:
        """Serve `path` whole (200) or the asked byte range (206, or 416 beyond the end)."""
        size = path.stat().st_size
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", **headers}
        try:
            asked = parse_range(self.headers.get("Range"), size)
        except RangeNotSatisfiable:
            self.respond(416, {**headers, "Content-Range": f"bytes */{size}"})
            return
        if asked is None:
            self.respond(200, headers, FileSlice(path, 0, size))
            return
        start, stop = asked
        headers = {**headers, "Content-Range": f"bytes {start}-{stop - 1}/{size}"}
        self.respond(206, headers, FileSlice(path, start, stop - start))

    def respond(
        self, status: int, headers: Mapping[str, str], body: bytes | FileSlice = b""
    ) -> None:
        """Send the answer, cut short if a drop fault is armed for this request."""
        length = body.length if isinstance(body, FileSlice) else len(body)
        to_send = 0 if self.command == "HEAD" else length
        drop = self.fault if self.fault is not None and self.fault.kind == "drop" else None
        if drop is not None and to_send == 0:
            self._record(status, 0)
            self._hang_up()
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        sent = self._write(body, to_send if drop is None else drop.cut(to_send))
        self._record(status, sent)
        if sent < to_send:
            self._hang_up()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the traffic log is the record."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(parts)

    def _write(self, body: bytes | FileSlice, limit: int) -> int:
        chunks = body.chunks() if isinstance(body, FileSlice) else iter([body])
        sent = 0
        try:
            for chunk in chunks:
                if sent >= limit:
                    break
                piece = chunk[: limit - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return sent

    def _record(self, status: int, sent: int) -> None:
        authorization = self.headers.get("Authorization")
        headers = tuple(self.headers.items())
        request = Request(self.command, self.url_path, status, sent, authorization, headers)
        self.server.owner.traffic.record(request)

    def _hang_up(self) -> None:
        self.close_connection = True
        _shut(self.connection)


def _shut(connection: socket.socket) -> None:
    """Close both directions now, so the client sees the connection end (if it has not already)."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    """Remembers open connections so that closing the server closes them too."""

    daemon_threads = True

    def __init__(self, handler: type[LoopbackHandler], owner: LoopbackServer) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.owner = owner
        self.connections: set[socket.socket] = set()

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[no-untyped-def]
        self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """Clients hanging up mid-answer are normal here; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (free port) in a daemon thread; a context manager."""

    handler: type[LoopbackHandler]

    def __init__(self) -> None:
        self.traffic = Traffic()
        self.faults = Faults()
        self.closing = threading.Event()  # set when closing: releases the requests left hanging
        self._httpd = _Server(self.handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget the traffic so far and disarm every fault."""
        self.traffic.reset()
        self.faults.clear()

    def close(self) -> None:
        self.closing.set()
        self._httpd.shutdown()
        for connection in list(self._httpd.connections):
            _shut(connection)
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self: Server) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
