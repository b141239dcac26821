"""Network faults while streaming and pushing: retried, or one clear error and nothing half-done."""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
import pytest

from converter.core.errors import NetworkError
from converter.core.release import ARCHIVE_NAME
from converter.outputs.export import export
from converter.outputs.hub import push
from converter.read.source import open_source
from imagenet3d import ImageNet3D
from testbed.servers.fileserver import FileServer
from testbed.servers.hub import Hub
from tests.helpers import stored_rows


@pytest.fixture
def served(file_server: FileServer, sample_zip: Path) -> str:
    shutil.copy(sample_zip, file_server.files / ARCHIVE_NAME)
    return f"{file_server.url}/{ARCHIVE_NAME}"


def first_rows(data_dir: str, tmp_path: Path) -> list[dict]:
    builder = ImageNet3D(config_name="pose3d", data_dir=data_dir, cache_dir=str(tmp_path))
    return stored_rows(builder.as_streaming_dataset(split="validation"))


@pytest.mark.parametrize("fault", ["drop", "error", "slow"])
def test_one_fault_while_streaming_over_http_is_retried(
    fault: str, served: str, file_server: FileServer, sample_zip: Path, tmp_path: Path
) -> None:
    expected = first_rows(str(sample_zip), tmp_path / "local")
    arm = {
        "drop": lambda: file_server.faults.drop(path=ARCHIVE_NAME),
        "error": lambda: file_server.faults.error(method="GET", path=ARCHIVE_NAME),
        "slow": lambda: file_server.faults.slow(0.5, method="GET", path=ARCHIVE_NAME),
    }
    arm[fault]()
    assert first_rows(served, tmp_path / "served") == expected
    assert file_server.faults.pending == 0


def test_a_server_that_keeps_failing_ends_in_one_clear_error(
    served: str, file_server: FileServer
) -> None:
    source = open_source(served)
    category, image_id = source.image_ids("train")[-1]
    file_server.faults.error(count=100, method="GET", path=ARCHIVE_NAME)
    with pytest.raises(NetworkError, match=ARCHIVE_NAME):
        source.photo_bytes(category, image_id)


def test_a_failed_prepare_leaves_no_cache_and_the_next_one_completes(
    served: str, file_server: FileServer, sample_zip: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    file_server.faults.error(count=100, method="GET", path=ARCHIVE_NAME)
    with pytest.raises(NetworkError, match=ARCHIVE_NAME):
        ImageNet3D(config_name="raw", data_dir=served, cache_dir=str(cache)).download_and_prepare()
    assert not list(cache.rglob("*.arrow"))
    file_server.faults.clear()
    builder = ImageNet3D(config_name="raw", data_dir=served, cache_dir=str(cache))
    builder.download_and_prepare()
    local = ImageNet3D(config_name="raw", data_dir=str(sample_zip), cache_dir=str(tmp_path / "l"))
    local.download_and_prepare()
    assert stored_rows(builder.as_dataset("train")) == stored_rows(local.as_dataset("train"))


@pytest.fixture(scope="module")
def exported(sample_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "out"
    export(sample_zip, out, ["pose6d"])
    return out


@pytest.mark.parametrize("fault", ["drop", "slow"])
def test_a_push_rides_out_a_passing_fault(
    fault: str, hub: Hub, exported: Path, hf_token: str
) -> None:
    if fault == "drop":
        hub.faults.drop(method="PUT", path="/lfs-upload/")
    else:
        hub.faults.slow(0.5, method="POST", path="/commit/")
    push(exported, "ccvl/faults", token=hf_token)
    assert hub.faults.pending == 0
    loaded = datasets.load_dataset("ccvl/faults", "pose6d", split="validation", token=hf_token)
    assert loaded.num_rows > 0


def test_a_failed_commit_leaves_no_half_commit_and_a_rerun_finishes(
    hub: Hub, exported: Path, hf_token: str
) -> None:
    hub.new_repo("ccvl/faults")
    before = hub.commits("ccvl/faults")
    hub.faults.error(count=100, method="POST", path="/commit/")
    with pytest.raises(Exception, match="500"):
        push(exported, "ccvl/faults", token=hf_token)
    assert hub.commits("ccvl/faults") == before
    hub.faults.clear()
    push(exported, "ccvl/faults", token=hf_token)
    assert len(hub.commits("ccvl/faults")) == len(before) + 1
    assert datasets.load_dataset("ccvl/faults", "pose6d", split="validation").num_rows > 0
