"""Reading the archive over HTTP and from the (loopback) Hub: range requests only, gated access."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.core.errors import AccessError
from converter.core.release import ARCHIVE_NAME, REPO_ID
from converter.look.summary import summarize
from converter.read.source import SPLITS, open_source
from imagenet3d import ImageNet3D
from testbed.servers.fileserver import FileServer
from testbed.servers.hub import Hub


@pytest.fixture
def release(hub: Hub, sample_zip: Path) -> Hub:
    """The loopback Hub holding the sample as the gated release (docs/format.md, 'Release layout')."""
    hub.new_repo(REPO_ID, files={ARCHIVE_NAME: sample_zip}, gated=True)
    hub.traffic.reset()
    return hub


def test_a_served_zip_holds_what_the_local_one_does(served_zip: str, sample_zip: Path) -> None:
    assert summarize(open_source(served_zip)).splits == summarize(open_source(sample_zip)).splits


def test_listing_a_served_zip_reads_under_a_quarter_of_it(
    served_zip: str, sample_zip: Path, file_server: FileServer
) -> None:
    source = open_source(served_zip)
    assert source.categories()
    assert all(source.image_ids(split) for split in SPLITS)
    assert file_server.traffic.bytes_served < sample_zip.stat().st_size / 4


def first_example(config: str, token: str | None) -> dict:
    builder = ImageNet3D(config_name=config, token=token)
    return next(iter(builder.as_streaming_dataset(split="train")))


@pytest.mark.parametrize("config", ["raw", "pose3d", "pose6d"])
def test_the_first_example_streams_from_the_hub_with_a_small_part_of_the_archive(
    config: str, release: Hub, hf_token: str, sample_zip: Path
) -> None:
    example = first_example(config, hf_token)
    assert example["image"].mode == "RGB"
    assert release.traffic.bytes_served < 0.05 * sample_zip.stat().st_size


def test_streaming_survives_a_dropped_connection(release: Hub, hf_token: str) -> None:
    release.faults.drop(path=ARCHIVE_NAME)
    assert first_example("pose3d", hf_token)["name"]
    assert release.faults.pending == 0


def test_without_a_token_the_gated_release_says_what_to_do(release: Hub) -> None:
    with pytest.raises(AccessError, match="hf auth login") as refused:
        first_example("raw", None)
    assert f"datasets/{REPO_ID}" in str(refused.value)


def test_a_token_without_access_is_told_to_request_it(release: Hub) -> None:
    with pytest.raises(AccessError, match="request access"):
        first_example("raw", "hf_not_granted")


def test_a_granted_token_loads(release: Hub, hf_token: str) -> None:
    assert first_example("raw", hf_token)["objects"]
