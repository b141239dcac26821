"""Who gets credentials: the Hub token goes to the Hub only, a mirror gets only what the user names."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import constants

from converter.core.release import ARCHIVE_NAME, REPO_ID
from converter.read.remote import MIRROR_HEADERS, on_hub
from converter.read.source import open_source
from testbed.servers.base import LoopbackServer
from testbed.servers.fileserver import FileServer
from testbed.servers.hub import Hub


@pytest.fixture
def release_url(hub: Hub, sample_zip: Path) -> str:
    """The gated release on the loopback Hub, addressed by a plain http URL of the endpoint."""
    hub.new_repo(REPO_ID, files={ARCHIVE_NAME: sample_zip}, gated=True)
    hub.traffic.reset()
    return f"{hub.url}/datasets/{REPO_ID}/resolve/main/{ARCHIVE_NAME}"


def authorizations(server: LoopbackServer) -> set[str | None]:
    return {request.authorization for request in server.traffic.requests}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://huggingface.co/datasets/x/resolve/main/a.zip", True),
        ("https://HuggingFace.co:443/datasets/x/resolve/main/a.zip", True),
        ("hf://datasets/ccvl/ImageNet3D/imagenet3d_v1.zip", True),
        ("https://huggingface.co.evil.example/x.zip", False),
        ("https://huggingface.co@evil.example/x.zip", False),
        ("https://evil.example/https://huggingface.co/x.zip", False),
        ("http://huggingface.co/x.zip", False),
        ("https://huggingface.co:8443/x.zip", False),
        ("https://huggingface.co:port/x.zip", False),
    ],
)
def test_a_url_is_on_the_hub_only_with_the_endpoints_scheme_host_and_port(
    url: str, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "ENDPOINT", "https://huggingface.co")
    assert on_hub(url) is expected


def test_neither_the_stored_login_nor_a_given_token_reaches_another_host(
    served_zip: str, file_server: FileServer, hf_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", hf_token)
    assert open_source(served_zip).categories()
    assert open_source(served_zip, token="hf_given_for_the_hub").categories()
    assert authorizations(file_server) == {None}


def test_the_hub_gets_the_token_by_its_plain_url(release_url: str, hub: Hub, hf_token: str) -> None:
    assert open_source(release_url, token=hf_token).categories()
    assert authorizations(hub) == {f"Bearer {hf_token}"}


def test_a_mirror_gets_the_headers_named_for_it_and_the_hub_does_not(
    served_zip: str,
    file_server: FileServer,
    release_url: str,
    hub: Hub,
    hf_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(MIRROR_HEADERS, "Authorization: Bearer mirror-secret")
    open_source(served_zip, token=hf_token)
    open_source(release_url, token=hf_token)
    assert authorizations(file_server) == {"Bearer mirror-secret"}
    assert authorizations(hub) == {f"Bearer {hf_token}"}


def test_a_malformed_mirror_header_is_named(
    served_zip: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MIRROR_HEADERS, "Bearer mirror-secret")
    with pytest.raises(ValueError, match=f"{MIRROR_HEADERS}: expected 'Name: value'"):
        open_source(served_zip)


def test_a_redirect_to_another_origin_gets_none_of_the_headers_named_for_the_mirror(
    served_zip: str, file_server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {"x-api-key": "key-secret", "private-token": "token-secret", "cookie": "c=secret"}
    monkeypatch.setenv(
        MIRROR_HEADERS, "\n".join(f"{name}: {value}" for name, value in secrets.items())
    )
    (tmp_path / "nothing").mkdir()
    with FileServer(tmp_path / "nothing") as named:
        named.redirect_to = file_server.url
        assert open_source(f"{named.url}/{ARCHIVE_NAME}").categories()
    assert all(set(secrets) <= request.header_names() for request in named.traffic.requests)
    assert file_server.traffic.count("GET") > 0
    assert all(
        not set(secrets) & request.header_names() for request in file_server.traffic.requests
    )
