"""The loopback servers, driven by the real clients: fsspec/aiohttp, huggingface_hub, datasets."""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

import datasets
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from testbed.servers.fileserver import FileServer
from testbed.servers.hub import Hub

DATA = os.urandom(300_000)
CARD = """---
configs:
- config_name: pose3d
  default: true
  data_files:
  - split: train
    path: pose3d/train-*
  - split: validation
    path: pose3d/validation-*
- config_name: raw
  data_files:
  - split: train
    path: raw/train-*
---
# A dataset pushed in a test
"""


def write_dataset_folder(folder: Path) -> Path:
    """A folder as an export writes it: Parquet files for two configs and a card naming them."""
    for path, rows in {
        "pose3d/train-00000-of-00001.parquet": {"name": ["a_00", "b_00"], "azimuth": [0.5, 1.0]},
        "pose3d/validation-00000-of-00001.parquet": {"name": ["c_00"], "azimuth": [2.0]},
        "raw/train-00000-of-00001.parquet": {"image_id": ["a", "b"]},
    }.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(rows), folder / path)
    (folder / "README.md").write_text(CARD)
    return folder


def test_fsspec_random_access_fetches_only_the_blocks_read(file_server: FileServer) -> None:
    (file_server.files / "x.zip").write_bytes(DATA)
    with fsspec.open(f"{file_server.url}/x.zip", "rb", block_size=4096) as file:
        file.seek(200_000)
        assert file.read(100) == DATA[200_000:200_100]
    gets = [request for request in file_server.traffic.requests if request.method == "GET"]
    assert gets and all(request.status == 206 for request in gets)
    assert file_server.traffic.bytes_served <= 2 * 4096


@pytest.mark.parametrize(
    ("asked", "content_range", "body"),
    [
        ("bytes=0-9", "bytes 0-9/300000", DATA[:10]),
        ("bytes=299990-", "bytes 299990-299999/300000", DATA[-10:]),
        ("bytes=-5", "bytes 299995-299999/300000", DATA[-5:]),
    ],
    ids=["first-last", "from-offset", "suffix"],
)
def test_range_requests(
    file_server: FileServer, asked: str, content_range: str, body: bytes
) -> None:
    (file_server.files / "x.zip").write_bytes(DATA)
    request = urllib.request.Request(f"{file_server.url}/x.zip", headers={"Range": asked})
    with urllib.request.urlopen(request) as response:
        assert (response.status, response.headers["Content-Range"]) == (206, content_range)
        assert response.read() == body


def test_injected_drop_and_500_reach_the_client_once(file_server: FileServer) -> None:
    (file_server.files / "x.zip").write_bytes(DATA)
    url = f"{file_server.url}/x.zip"
    file_server.faults.drop()
    with pytest.raises(http.client.IncompleteRead), urllib.request.urlopen(url) as response:
        response.read()
    file_server.faults.error()
    with pytest.raises(urllib.error.HTTPError, match="500"):
        urllib.request.urlopen(url)
    with urllib.request.urlopen(url) as response:
        assert response.read() == DATA
    assert file_server.faults.pending == 0


def test_hf_hub_download_from_a_seeded_repo(hub: Hub) -> None:
    hub.new_repo("ccvl/ImageNet3D", files={"imagenet3d_v1.zip": DATA})
    path = hf_hub_download("ccvl/ImageNet3D", "imagenet3d_v1.zip", repo_type="dataset")
    assert Path(path).read_bytes() == DATA


def test_hf_hub_download_resumes_after_a_dropped_connection(hub: Hub) -> None:
    repo_id = hub.new_repo(files={"imagenet3d_v1.zip": DATA})
    hub.faults.drop(path="/resolve/")
    path = hf_hub_download(repo_id, "imagenet3d_v1.zip", repo_type="dataset")
    assert Path(path).read_bytes() == DATA
    assert hub.faults.pending == 0


def test_hf_file_system_reads_ranges(hub: Hub) -> None:
    repo_id = hub.new_repo(files={"imagenet3d_v1.zip": DATA})
    with HfFileSystem().open(f"hf://datasets/{repo_id}/imagenet3d_v1.zip", block_size=4096) as file:
        file.seek(100_000)
        assert file.read(100) == DATA[100_000:100_100]
    downloads = [request for request in hub.traffic.requests if "/resolve/" in request.path]
    assert [request.status for request in downloads] == [206]
    assert hub.traffic.bytes_by_path()[downloads[0].path] <= 4096 + 100


@pytest.mark.parametrize(
    ("repo_id", "filename", "revision", "error"),
    [
        ("nobody/missing", "x.zip", None, RepositoryNotFoundError),
        ("ccvl/ImageNet3D", "missing.zip", None, RemoteEntryNotFoundError),
        ("ccvl/ImageNet3D", "x.zip", "no-such-branch", RevisionNotFoundError),
    ],
    ids=["repo", "file", "revision"],
)
def test_missing_things_raise_the_matching_error(
    hub: Hub, repo_id: str, filename: str, revision: str | None, error: type[Exception]
) -> None:
    hub.new_repo("ccvl/ImageNet3D", files={"x.zip": DATA})
    with pytest.raises(error):
        hf_hub_download(repo_id, filename, repo_type="dataset", revision=revision)


def test_gated_repo_refuses_no_token_and_ungranted_token(hub: Hub, hf_token: str) -> None:
    hub.new_repo("ccvl/ImageNet3D", files={"x.zip": DATA}, gated=True)
    for token, status in [(None, 401), ("hf_someone_else", 403)]:
        with pytest.raises(GatedRepoError) as refused:
            hf_hub_download("ccvl/ImageNet3D", "x.zip", repo_type="dataset", token=token)
        assert refused.value.response.status_code == status
    path = hf_hub_download("ccvl/ImageNet3D", "x.zip", repo_type="dataset", token=hf_token)
    assert Path(path).read_bytes() == DATA


def test_push_folder_then_load_every_config(hub: Hub, hf_token: str, tmp_path: Path) -> None:
    api = HfApi(token=hf_token)
    api.create_repo("ccvl/pushed", repo_type="dataset")
    api.upload_folder(
        repo_id="ccvl/pushed", repo_type="dataset", folder_path=write_dataset_folder(tmp_path)
    )

    pose3d = datasets.load_dataset("ccvl/pushed")
    assert pose3d["train"]["name"] == ["a_00", "b_00"]
    assert pose3d["validation"]["azimuth"] == [2.0]
    assert datasets.load_dataset("ccvl/pushed", "raw", split="train")["image_id"] == ["a", "b"]
    streamed = datasets.load_dataset("ccvl/pushed", split="validation", streaming=True)
    assert [row["name"] for row in streamed] == ["c_00"]


def test_pushing_an_unchanged_folder_creates_no_commit(
    hub: Hub, hf_token: str, tmp_path: Path
) -> None:
    api = HfApi(token=hf_token)
    repo_id = hub.new_repo()
    folder = write_dataset_folder(tmp_path)
    first = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=folder)
    second = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=folder)
    assert second.oid == first.oid
    titles = [commit.title for commit in hub.commits(repo_id)]
    assert titles == ["Upload folder using huggingface_hub", "initial commit"]


def test_push_retries_after_a_server_error(hub: Hub, hf_token: str) -> None:
    repo_id = hub.new_repo()
    hub.faults.error(path="/preupload/")
    HfApi(token=hf_token).upload_file(
        path_or_fileobj=b"notes", path_in_repo="notes.txt", repo_id=repo_id, repo_type="dataset"
    )
    assert hub.traffic.count("POST", "/preupload/") == 2
    assert hub.read(repo_id, "notes.txt") == b"notes"


def test_gated_dataset_loads_with_a_granted_token(hub: Hub, hf_token: str, tmp_path: Path) -> None:
    folder = write_dataset_folder(tmp_path)
    files = {str(path.relative_to(folder)): path for path in folder.rglob("*") if path.is_file()}
    hub.new_repo("ccvl/gated", files=files, gated=True)
    with pytest.raises(DatasetNotFoundError, match="gated"):
        datasets.load_dataset("ccvl/gated")
    rows = datasets.load_dataset("ccvl/gated", "raw", split="train", token=hf_token)
    assert rows["image_id"] == ["a", "b"]
