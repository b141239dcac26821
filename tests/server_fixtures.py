"""pytest fixtures for the loopback servers.

Importing this module starts the session Hub (see `session.py`), which is why `tests/conftest.py`
imports it before anything that could import `datasets` or `huggingface_hub`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from converter.core.release import ARCHIVE_NAME
from testbed.servers.fileserver import FileServer
from testbed.servers.hub import GRANTED_TOKEN, Hub
from testbed.servers.session import start_session_hub

start_session_hub()


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    """A file server over an empty folder, `file_server.files`: put files there, then fetch them."""
    folder = tmp_path / "served"
    folder.mkdir()
    with FileServer(folder) as server:
        yield server


@pytest.fixture
def hub() -> Iterator[Hub]:
    """The session Hub (`HF_ENDPOINT`), emptied for this test: no repos, traffic or faults."""
    from huggingface_hub import HfFileSystem

    session_hub = start_session_hub()
    session_hub.reset()
    HfFileSystem.clear_instance_cache()  # its listings and "repo exists" answers are per test
    yield session_hub
    session_hub.faults.clear()


@pytest.fixture
def hf_token() -> str:
    """A token that gated repos of the loopback Hub grant access to (any other token is refused)."""
    return GRANTED_TOKEN


@pytest.fixture
def served_zip(file_server: FileServer, sample_zip: Path) -> str:
    """The sample archive on the loopback file server, by its plain http URL."""
    shutil.copy(sample_zip, file_server.files / ARCHIVE_NAME)
    return f"{file_server.url}/{ARCHIVE_NAME}"
