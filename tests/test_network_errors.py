"""Dead or failing servers: bounded time, bounded retries, and one line naming URL, cause and fix."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from huggingface_hub import constants

from converter.cli import main
from converter.core.errors import AccessError, NetworkError
from converter.core.release import ARCHIVE_NAME, REPO_ID
from converter.read import remote
from converter.read.source import open_source
from testbed.servers.fileserver import FileServer
from testbed.servers.hub import Hub

TIMEOUT = 0.5
PAUSE = 0.05


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time-outs and pauses scaled down, so a dead server costs a test seconds, not minutes."""
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", TIMEOUT)
    monkeypatch.setattr(remote, "FIRST_PAUSE", PAUSE)


def pauses() -> float:
    return sum(PAUSE * 2**attempt for attempt in range(remote.ATTEMPTS - 1))


def failure(url: str) -> tuple[str, float]:
    """The NetworkError's message for opening `url`, and the seconds it took to come."""
    started = time.monotonic()
    with pytest.raises(NetworkError) as failed:
        open_source(url)
    return str(failed.value), time.monotonic() - started


def test_a_server_that_never_answers_is_given_up_within_the_time_out(
    served_zip: str, file_server: FileServer
) -> None:
    file_server.faults.hang(count=100)
    message, seconds = failure(served_zip)
    # Each attempt asks for the size twice (HEAD, then GET), each waiting one time-out.
    assert seconds < remote.ATTEMPTS * 2 * TIMEOUT + pauses() + 2
    assert message.startswith(f"{served_zip}: opening failed after {remote.ATTEMPTS} attempts")
    assert f"no answer within {TIMEOUT:g} s" in message
    assert "HF_HUB_DOWNLOAD_TIMEOUT" in message


def test_a_server_that_stalls_after_the_size_probe_is_given_up_within_the_time_out(
    served_zip: str, file_server: FileServer
) -> None:
    file_server.faults.hang(count=100, method="GET")
    message, seconds = failure(served_zip)
    assert seconds < remote.ATTEMPTS * TIMEOUT + pauses() + 2
    assert "reading bytes" in message
    assert f"no answer within {TIMEOUT:g} s" in message


def test_a_missing_file_is_a_404_and_is_not_retried(file_server: FileServer) -> None:
    url = f"{file_server.url}/{ARCHIVE_NAME}"
    message, _ = failure(url)
    assert message == f"{url}: opening failed: HTTP 404 Not Found; check the address"


@pytest.mark.parametrize(
    ("status", "cause"),
    [(429, "HTTP 429 Too Many Requests"), (500, "HTTP 500 Internal Server Error")],
)
def test_a_busy_or_failing_server_is_retried_then_named(
    status: int, cause: str, served_zip: str, file_server: FileServer
) -> None:
    file_server.faults.error(count=100, status=status)
    message, _ = failure(served_zip)
    assert f"failed after {remote.ATTEMPTS} attempts" in message
    assert f"{cause}; the server is busy or failing: try again later" in message


def test_a_mirror_refusing_us_does_not_send_the_user_to_the_release_page(
    served_zip: str, file_server: FileServer
) -> None:
    file_server.faults.error(count=100, status=401)
    message, _ = failure(served_zip)
    assert "HTTP 401 Unauthorized" in message
    assert f"{remote.MIRROR_HEADERS}='Authorization: ...'" in message
    assert "request access" not in message
    assert "attempts" not in message  # a refusal is final


def test_a_refused_connection_names_the_os_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    message, _ = failure(f"http://127.0.0.1:{port}/{ARCHIVE_NAME}")
    assert "Connect call failed" in message
    assert "check the address and the network" in message


def test_a_host_that_does_not_resolve_names_the_os_error() -> None:
    url = f"http://no-such-host.invalid/{ARCHIVE_NAME}"
    message, seconds = failure(url)
    assert message.startswith(f"{url}: opening failed after {remote.ATTEMPTS} attempts")
    assert "[Errno" in message and "check the address and the network" in message
    assert seconds < remote.ATTEMPTS * 2 * TIMEOUT + pauses() + 2


def test_a_missing_hub_repository_is_not_a_gated_refusal(hub: Hub) -> None:
    with pytest.raises(NetworkError) as failed:
        open_source(f"hf://datasets/{REPO_ID}/{ARCHIVE_NAME}")
    assert "request access" not in str(failed.value)
    assert "HTTP 404 Not Found; check the repository and file name" in str(failed.value)


def test_a_gated_refusal_by_the_hub_over_plain_http_says_to_request_access(
    hub: Hub, sample_zip: Path
) -> None:
    hub.new_repo(REPO_ID, files={ARCHIVE_NAME: sample_zip}, gated=True)
    with pytest.raises(AccessError, match="request access"):
        open_source(f"{hub.url}/datasets/{REPO_ID}/resolve/main/{ARCHIVE_NAME}", token="hf_nope")


@pytest.mark.parametrize("where", ["http", "hf"])
def test_offline_mode_fails_at_once_without_a_request(
    where: str,
    served_zip: str,
    file_server: FileServer,
    hub: Hub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    url = served_zip if where == "http" else f"hf://datasets/{REPO_ID}/{ARCHIVE_NAME}"
    message, seconds = failure(url)
    assert message == (
        f"{url}: not read because HF_HUB_OFFLINE is set (no network use); unset it, "
        "or give a local copy of the archive"
    )
    assert seconds < 1
    assert file_server.traffic.count() == hub.traffic.count() == 0


def test_the_command_line_prints_one_line(
    served_zip: str, file_server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    file_server.faults.error(count=100, status=503)
    assert main(["inspect", served_zip]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"imagenet3d inspect: {served_zip}: opening failed")


def test_a_silent_hub_is_given_up_within_the_time_out(
    hub: Hub, sample_zip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", TIMEOUT)
    hub.new_repo(REPO_ID, files={ARCHIVE_NAME: sample_zip})
    hub.faults.hang(count=100)
    url = f"hf://datasets/{REPO_ID}/{ARCHIVE_NAME}"
    message, seconds = failure(url)
    assert seconds < remote.ATTEMPTS * 2 * TIMEOUT + pauses() + 2
    assert message.startswith(f"{url}: opening failed after {remote.ATTEMPTS} attempts")
    assert f"no answer within {TIMEOUT:g} s" in message


def test_a_compressed_range_reply_is_refused_before_it_is_inflated(
    served_zip: str, file_server: FileServer
) -> None:
    file_server.send_gzip_bombs(64 << 20)
    message, _ = failure(served_zip)
    assert "gzip-encoded bytes though identity was asked" in message
    assert "attempts" not in message  # refused at the first reply, not retried
    asked = [request.headers for request in file_server.traffic.requests]
    assert asked and all(("Accept-Encoding", "identity") in headers for headers in asked)


def test_running_out_of_memory_is_not_retried_as_a_network_problem() -> None:
    tries = []

    def action() -> bytes:
        tries.append(1)
        raise MemoryError

    with pytest.raises(MemoryError):
        remote.with_retries("http://mirror.example/a.zip", "reading", action)
    assert len(tries) == 1


def test_a_range_reply_longer_than_the_range_is_refused_before_its_body_is_read() -> None:
    with pytest.raises(remote.UnsafeReply, match="answered 1048576 bytes for a range of 16384"):
        remote.check_reply("bytes=0-16383", 206, {"Content-Length": str(1 << 20)})
    with pytest.raises(remote.UnsafeReply, match="a range of 16384 bytes without its length"):
        remote.check_reply("bytes=0-16383", 206, {"Transfer-Encoding": "chunked"})
    remote.check_reply("bytes=0-16383", 206, {"Content-Length": "16384"})
