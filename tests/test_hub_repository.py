"""The published dataset as a living Hub repository: a later push of some configurations keeps
the others and the maintainers' own text, gating, and the card's code run as users run it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest
from huggingface_hub import HfApi

from converter.cli import main
from converter.outputs import hub as hub_module
from converter.outputs.export import ExportOptions, export
from converter.outputs.export_folder import CARD
from converter.outputs.hub import PushError, push
from converter.pose.options import PoseOptions
from converter.read.source import SPLITS
from testbed.servers.hub import Hub
from tests.clean_env import load_names
from tests.helpers import example_names, mesh_names

REPO = "ccvl/ImageNet3D-processed"
HAND_WRITTEN = "## Notes from the maintainers\n\nA paragraph written on the Hub, by hand.\n"
SUBSET = PoseOptions(height=320, width=400, categories=("car", "chair"))


def with_hand_edits(card: str) -> str:
    """The card as a maintainer edits it on the Hub: a front-matter key and a paragraph added."""
    return card.replace("---\n", "---\nlanguage:\n- en\n", 1) + "\n" + HAND_WRITTEN


@pytest.fixture(scope="module")
def subset(sample_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pose3d alone, of two categories on a smaller canvas, in shards of row groups of 4 rows."""
    out = tmp_path_factory.mktemp("subset") / "out"
    options = ExportOptions(pose=SUBSET, max_shard_size="100KB", rows_per_group=4)
    export(sample_zip, out, ["pose3d"], options)
    assert len(list((out / "pose3d").glob("train-*.parquet"))) > 1
    return out


@pytest.fixture
def pushed_twice(hub: Hub, exported: Path, subset: Path, hf_token: str) -> Hub:
    """A full push, the card edited by hand on the Hub, then a push of the pose3d subset."""
    push(exported, REPO, token=hf_token)
    hub.add_file(REPO, CARD, with_hand_edits(hub.read(REPO, CARD).decode()).encode())
    push(subset, REPO, token=hf_token)
    return hub


def test_a_subset_push_replaces_its_configuration_and_keeps_the_others(
    pushed_twice: Hub, subset: Path
) -> None:
    files = set(pushed_twice.commits(REPO)[0].files)
    assert {path for path in files if path.startswith("pose3d/")} == {
        f"pose3d/{path.name}" for path in (subset / "pose3d").glob("*.parquet")
    }  # the full push's pose3d shards are deleted in the same commit
    assert {path.partition("/")[0] for path in files if "/" in path} == {
        "raw",
        "pose3d",
        "pose6d",
        "cad",
    }
    titles = [commit.title for commit in pushed_twice.commits(REPO)]
    assert titles == [
        "Upload ImageNet3D export",
        f"Upload {CARD}",
        "Upload ImageNet3D export",
        "initial commit",
    ]


def test_the_card_after_a_subset_push_keeps_every_section_and_the_hand_written_text(
    pushed_twice: Hub,
) -> None:
    card = pushed_twice.read(REPO, CARD).decode()
    assert card.endswith(HAND_WRITTEN) and card.count(HAND_WRITTEN) == 1
    assert "\nlanguage:\n- en\n" in card
    pose3d = section_of(card, "pose3d")
    assert "canvas 320 x 400" in pose3d and "categories: car, chair" in pose3d
    assert "Objects of 2 categories: car, chair." in pose3d
    assert "canvas 640 x 800" in section_of(card, "pose6d")
    for config in ("raw", "cad"):
        assert "categories: all" in section_of(card, config)
    assert card.count("## Use with PyTorch") == 1
    assert card.count("config_name: pose3d") == 2  # one `configs` entry, one `dataset_info`


def section_of(card: str, config: str) -> str:
    return re.search(rf"### `{config}`\n(.*?)<!--", card, re.S)[1]


@pytest.mark.parametrize("python", ["datasets_python", "datasets3_python"])
def test_after_a_subset_push_every_configuration_loads_in_a_fresh_environment(
    python: str,
    pushed_twice: Hub,
    subset: Path,
    sample_zip: Path,
    hf_token: str,
    request: pytest.FixtureRequest,
) -> None:
    """On datasets 5.x and 3.6 without this project, through the gate with a granted token."""
    clean = request.getfixturevalue(python)
    loaded = {
        config: load_names(clean, REPO, config, "load", "-", hf_token)
        for config in ("raw", "pose3d", "pose6d", "cad")
    }
    local = datasets.load_dataset(str(subset), "pose3d")
    for split in SPLITS:
        assert loaded["raw"][split] == example_names(sample_zip, "raw", split)
        assert loaded["pose6d"][split] == example_names(sample_zip, "pose6d", split)
        assert loaded["pose3d"][split] == local[split]["name"]
    assert set(loaded["pose3d"]["train"]) < set(example_names(sample_zip, "pose3d", "train"))
    assert loaded["cad"] == {"train": mesh_names(sample_zip)}


def test_a_repository_push_creates_is_gated(
    hub: Hub, exported: Path, hf_token: str, tmp_path: Path
) -> None:
    push(exported, REPO, token=hf_token)
    assert HfApi().repo_info(REPO, repo_type="dataset").gated == "auto"
    cache = str(tmp_path / "cache")  # nothing an earlier load left to fall back on
    with pytest.raises(datasets.exceptions.DatasetNotFoundError, match="gated"):
        datasets.load_dataset(REPO, "cad", split="train", cache_dir=cache)
    loaded = datasets.load_dataset(REPO, "cad", split="train", token=hf_token, cache_dir=cache)
    assert loaded.num_rows == 5


def test_gated_none_leaves_a_new_repository_public(hub: Hub, exported: Path, hf_token: str) -> None:
    command = ["push", str(exported), "--repo-id", REPO, "--token", hf_token, "--gated", "none"]
    assert main(command) == 0
    assert hub.repo(REPO).gated is False
    assert datasets.load_dataset(REPO, "cad", split="train").num_rows == 5


def test_an_existing_repository_keeps_its_gating_unless_told(
    hub: Hub, exported: Path, hf_token: str
) -> None:
    hub.new_repo(REPO, gated="manual")
    push(exported, REPO, token=hf_token)
    assert hub.repo(REPO).gated == "manual"
    assert hub.traffic.count("PUT", "/settings") == 0
    push(exported, REPO, token=hf_token, gated="auto")
    assert hub.repo(REPO).gated == "auto"


def test_the_pushed_card_has_what_the_hub_and_readers_look_for(pushed_public: Hub) -> None:
    card = pushed_public.read(REPO, CARD).decode()
    assert "https://arxiv.org/abs/2406.09613" in card
    assert "https://github.com/wufeim/imagenet3d" in card
    for key in ("size_categories:\n- n<1K", "source_datasets:", "annotations_creators:"):
        assert key in card
    assert "license: cc-by-nc-4.0" in card and "CC BY-NC 4.0" in card
    assert "ImageNet's terms of access" in card
    for heading in (
        "## Intended uses",
        "## Out-of-scope uses",
        "## Limitations and biases",
        "## Personal information",
        "## Use with PyTorch",
        "## Training on many nodes",
    ):
        assert f"\n{heading}\n" in card


@pytest.fixture
def pushed_public(hub: Hub, exported: Path, hf_token: str) -> Hub:
    push(exported, REPO, token=hf_token, gated="none")
    return hub


def run_section(card: str, heading: str, **replacements: str) -> list[dict[str, Any]]:
    """Run every Python block of a card section as a user pastes it, each in a fresh namespace."""
    body = card.split(f"\n{heading}\n")[1].split("\n## ")[0]
    namespaces = []
    for code in re.findall(r"```python\n(.*?)```", body, re.S):
        for old, new in replacements.items():
            code = code.replace(old, new)
        namespace: dict[str, Any] = {}
        exec(compile(code, heading, "exec"), namespace)
        namespaces.append(namespace)
    return namespaces


def test_the_cards_pytorch_code_gives_batches_of_canvases_and_rotations(
    pushed_public: Hub,
) -> None:
    """Run with torch when it is installed, else with the numpy format (same shapes)."""
    card = pushed_public.read(REPO, CARD).decode()
    fallback = {} if importlib.util.find_spec("torch") else {'"torch"': '"numpy"'}
    batches, encoded = run_section(card, "## Use with PyTorch", **fallback)
    assert tuple(batches["images"].shape) == (8, 640, 800, 3)
    assert tuple(batches["rotations"].shape) == (8, 3, 3)
    assert np.allclose(
        np.asarray(batches["rotations"][0]).T @ batches["rotations"][0], np.eye(3), atol=1e-5
    )
    assert encoded["jpeg"].startswith(b"\xff\xd8")


def test_the_cards_many_node_code_gives_each_node_its_own_row_groups(
    hub: Hub, subset: Path, hf_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A multi-shard export streamed on 4 nodes: every example once, the nodes' parts disjoint."""
    push(subset, REPO, token=hf_token, gated="none")
    card = hub.read(REPO, CARD).decode()
    everything = datasets.load_dataset(str(subset), "pose3d", split="train")["name"]
    parts = []
    for rank in range(4):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "4")
        (namespace,) = run_section(card, "## Training on many nodes")
        parts.append([row["name"] for row in namespace["stream"]])
    assert sorted(name for part in parts for name in part) == sorted(everything)
    assert all(parts)


def test_a_card_written_before_the_first_push_is_kept_below_the_generated_part(
    hub: Hub, exported: Path, hf_token: str
) -> None:
    hub.new_repo(REPO, files={CARD: b"---\nlicense: other\n---\n\n" + HAND_WRITTEN.encode()})
    push(exported, REPO, token=hf_token)
    card = hub.read(REPO, CARD).decode()
    assert card.endswith(f"<!-- imagenet3d:generated-end -->\n\n{HAND_WRITTEN}")
    assert "license: cc-by-nc-4.0" in card and "license: other" not in card


def test_a_card_on_the_hub_that_cannot_be_read_stops_the_push(
    hub: Hub, exported: Path, hf_token: str
) -> None:
    hub.new_repo(REPO, files={CARD: b"---\nconfigs: [unclosed\n---\n"})
    with pytest.raises(PushError, match=f"^{REPO}: its card cannot be read .*fix its {CARD}"):
        push(exported, REPO, token=hf_token)
    assert len(hub.commits(REPO)) == 2  # the repository's own two commits, nothing pushed


def test_an_edit_made_on_the_hub_during_a_push_is_never_overwritten(
    hub: Hub, exported: Path, subset: Path, hf_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card is merged over one commit; the Hub refuses the push if another came since."""
    push(exported, REPO, token=hf_token)
    merge = hub_module.upload_operations

    def merged_while_a_maintainer_edits(*arguments: Any) -> list[Any]:
        operations = merge(*arguments)
        hub.add_file(REPO, CARD, b"Edited on the Hub meanwhile.\n")
        return operations

    monkeypatch.setattr(hub_module, "upload_operations", merged_while_a_maintainer_edits)
    with pytest.raises(PushError, match=f"^{REPO}: the Hub answered 412"):
        push(subset, REPO, token=hf_token)
    assert hub.read(REPO, CARD) == b"Edited on the Hub meanwhile.\n"
