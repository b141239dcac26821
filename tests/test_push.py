"""Export, push to the (loopback) Hub, and load back with no remote code: the maintainers' round trip."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from converter.core.release import ARCHIVE_NAME, REPO_ID
from converter.outputs.hub import push, script_name
from converter.outputs.schema import CAD_CONFIG, IMAGE_CONFIGS
from converter.read.source import SPLITS
from converter.testing.servers.hub import Hub
from tests.test_builder import converter_rows, example_names, legacy_load, stored_rows

REPO = "ccvl/ImageNet3D-processed"


@pytest.fixture
def pushed(hub: Hub, exported: Path, hf_token: str) -> Hub:
    push(exported, REPO, token=hf_token)
    return hub


@pytest.mark.parametrize("config", IMAGE_CONFIGS)
def test_every_config_loads_from_the_hub_as_the_builder_made_it(
    config: str, pushed: Hub, sample_zip: Path
) -> None:
    loaded = datasets.load_dataset(REPO, config)
    for split in SPLITS:
        assert stored_rows(loaded[split]) == converter_rows(sample_zip, config, split)


def test_the_cad_meshes_load_from_the_hub_as_exported(pushed: Hub, exported: Path) -> None:
    from_hub = datasets.load_dataset(REPO, CAD_CONFIG, split="train")
    local = datasets.load_dataset(str(exported), CAD_CONFIG, split="train")
    assert len(from_hub) > 0 and list(from_hub) == list(local)


@pytest.mark.parametrize("config", IMAGE_CONFIGS)
def test_every_config_streams_from_the_hub(config: str, pushed: Hub, sample_zip: Path) -> None:
    streamed = datasets.load_dataset(REPO, config, split="validation", streaming=True)
    assert stored_rows(streamed) == converter_rows(sample_zip, config, "validation")


def test_pushing_an_unchanged_folder_creates_no_commit(
    pushed: Hub, exported: Path, hf_token: str
) -> None:
    before = pushed.commits(REPO)
    push(exported, REPO, token=hf_token)
    assert pushed.commits(REPO) == before


def test_datasets_3_reads_the_pushed_parquet_without_any_script(
    pushed: Hub, sample_zip: Path, hf_token: str, legacy_python: Path
) -> None:
    """Users still on datasets 3.x need neither the script nor remote code: the card is enough."""
    loaded = legacy_load(legacy_python, REPO, "pose6d", token=hf_token)
    for split in SPLITS:
        assert loaded["False"][split] == example_names(sample_zip, "pose6d", split)
        assert loaded["True"][split] == example_names(sample_zip, "pose6d", split)


def test_the_script_goes_along_for_datasets_3(pushed: Hub, exported: Path, hf_token: str) -> None:
    push(exported, REPO, token=hf_token, with_script=True)
    script = pushed.read(REPO, script_name(REPO))
    assert script == (Path(__file__).parent.parent / "imagenet3d.py").read_bytes()
    assert script_name(REPO) == "ImageNet3D-processed.py"


def test_a_pull_request_leaves_main_alone(pushed: Hub, exported: Path, hf_token: str) -> None:
    (exported / "NOTE.md").write_text("proposed change\n")
    try:
        info = push(exported, REPO, token=hf_token, create_pr=True)
    finally:
        (exported / "NOTE.md").unlink()
    assert info.pr_url
    assert "NOTE.md" not in pushed.commits(REPO)[0].files


def test_datasets_3_streams_the_zip_through_the_pushed_script(
    hub: Hub, exported: Path, sample_zip: Path, hf_token: str, legacy_python: Path
) -> None:
    hub.new_repo(REPO_ID, files={ARCHIVE_NAME: sample_zip}, gated=True)
    push(exported, REPO_ID, token=hf_token, with_script=True)
    loaded = legacy_load(legacy_python, REPO_ID, "pose3d", token=hf_token)
    assert loaded["True"]["validation"] == example_names(sample_zip, "pose3d", "validation")
