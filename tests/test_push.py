"""Export, push to the (loopback) Hub, load back with nothing but `datasets`: the maintainers' round
trip, and every way a push is refused before it touches the network."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from converter.cli import main
from converter.outputs.configurations import IMAGE_CONFIGS, MESHES
from converter.outputs.export import export
from converter.outputs.export_folder import CARD, STAMP, NotAnExport, shard_record
from converter.outputs.hub import PushError, push, script_name, upload_operations
from converter.read.source import SPLITS
from testbed.servers.hub import Hub
from tests.clean_env import load_names
from tests.helpers import converter_rows, example_names, mesh_names, stored_rows

REPO = "ccvl/ImageNet3D-processed"


@pytest.fixture
def pushed(hub: Hub, exported: Path, hf_token: str) -> Hub:
    """The sample's export pushed to a new repository left public (`gated="none"`)."""
    push(exported, REPO, token=hf_token, gated="none")
    return hub


@pytest.mark.parametrize("config", IMAGE_CONFIGS)
def test_every_config_loads_from_the_hub_as_the_builder_made_it(
    config: str, pushed: Hub, sample_zip: Path
) -> None:
    loaded = datasets.load_dataset(REPO, config)
    for split in SPLITS:
        assert stored_rows(loaded[split]) == converter_rows(sample_zip, config, split)


def test_the_cad_meshes_load_from_the_hub_as_exported(pushed: Hub, exported: Path) -> None:
    from_hub = datasets.load_dataset(REPO, MESHES, split="train")
    local = datasets.load_dataset(str(exported), MESHES, split="train")
    assert len(from_hub) > 0 and list(from_hub) == list(local)


@pytest.mark.parametrize("config", IMAGE_CONFIGS)
def test_every_config_streams_from_the_hub(config: str, pushed: Hub, sample_zip: Path) -> None:
    streamed = datasets.load_dataset(REPO, config, split="validation", streaming=True)
    assert stored_rows(streamed) == converter_rows(sample_zip, config, "validation")


@pytest.mark.parametrize("python", ["datasets_python", "datasets3_python"])
def test_a_fresh_environment_with_only_datasets_loads_the_push(
    python: str, pushed: Hub, sample_zip: Path, request: pytest.FixtureRequest
) -> None:
    """On datasets 5.x and 3.6, neither with this project installed: the card is enough."""
    clean = request.getfixturevalue(python)
    loaded = load_names(clean, REPO, "pose3d", "load")
    streamed = load_names(clean, REPO, "raw", "stream")
    for split in SPLITS:
        assert loaded[split] == example_names(sample_zip, "pose3d", split)
        assert streamed[split] == example_names(sample_zip, "raw", split)
    assert load_names(clean, REPO, MESHES, "load") == {"train": mesh_names(sample_zip)}


def test_one_push_is_one_commit_and_an_unchanged_folder_adds_none(
    hub: Hub, exported: Path, hf_token: str
) -> None:
    push(exported, REPO, token=hf_token)
    commits = hub.commits(REPO)
    assert [commit.title for commit in commits] == ["Upload ImageNet3D export", "initial commit"]
    push(exported, REPO, token=hf_token)
    assert hub.commits(REPO) == commits


def test_the_pushed_card_names_the_repository_and_no_script_goes_along(
    pushed: Hub, exported: Path
) -> None:
    card = pushed.read(REPO, CARD).decode()
    assert f'load_dataset("{REPO}", "raw", split="train")' in card
    files = set(pushed.commits(REPO)[0].files)
    assert not any(path.endswith(".py") for path in files)
    assert not any(path.endswith("export.json") for path in files)  # stamps hold local paths


def test_a_script_of_an_earlier_push_and_stale_shards_are_deleted(
    hub: Hub, exported: Path, hf_token: str
) -> None:
    """`<repo name>.py` at the root would make datasets 4+ refuse the whole repository."""
    repo = "me/in3d"
    stale = {
        script_name(repo): b"# an old loading script\n",
        "raw/train-00001-of-00002.parquet": b"",
    }
    hub.new_repo(repo, files=stale)
    with pytest.raises(RuntimeError, match="Dataset scripts are no longer supported"):
        datasets.load_dataset(repo, "raw")
    push(exported, repo, token=hf_token)
    files = set(hub.commits(repo)[0].files)
    assert not files & set(stale)
    assert datasets.load_dataset(repo, "raw", split="validation").num_rows == 12


def test_a_pull_request_leaves_main_alone(hub: Hub, exported: Path, hf_token: str) -> None:
    hub.new_repo(REPO)
    info = push(exported, REPO, token=hf_token, create_pr=True)
    assert info.pr_url
    assert set(hub.commits(REPO)[0].files) == {".gitattributes"}
    assert CARD in hub.commits(REPO, "refs/pr/1")[0].files


def refused(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line `push` prints for a folder it will not upload."""
    assert main(["push", str(folder), "--repo-id", "me/oops"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    return error


def test_push_refuses_what_is_not_a_complete_export_before_any_request(
    hub: Hub, exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No repository is created, nothing is uploaded."""
    assert "no such export folder" in refused(tmp_path / "nonexistent", capsys)
    (tmp_path / "notrelease").mkdir()
    (tmp_path / "notrelease" / "notes.txt").write_text("mine\n")
    assert f"is not an export folder (no {CARD})" in refused(tmp_path / "notrelease", capsys)
    interrupted = shutil.copytree(exported, tmp_path / "interrupted")
    (interrupted / ".partial-pose3d").mkdir()
    assert "leftovers of an interrupted or running export" in refused(interrupted, capsys)
    shutil.rmtree(interrupted / ".partial-pose3d")
    shutil.rmtree(interrupted / "pose6d")
    assert "but the folder holds raw, pose3d, cad;" in refused(interrupted, capsys)
    assert hub.repos == {} and hub.traffic.requests == []


def test_a_missing_token_is_one_line_naming_the_repository(
    hub: Hub, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(exported), "--repo-id", REPO]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"imagenet3d push: {REPO}: the Hub answered 401")
    assert "hf auth login" in error


def test_a_hub_error_is_a_push_error_naming_the_repository(
    hub: Hub, exported: Path, hf_token: str
) -> None:
    hub.faults.error(count=100, status=500, path="/commit/")
    with pytest.raises(PushError, match=f"^{REPO}: the Hub answered 500"):
        push(exported, REPO, token=hf_token)


def test_no_network_is_one_line_and_a_non_zero_exit(exported: Path) -> None:
    """A Hub nobody listens at, in a process of its own."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_TOKEN": "hf_any"}
    command = [sys.executable, "-m", "converter", "push", str(exported), "--repo-id", REPO]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr == (
        f"imagenet3d push: {REPO}: cannot reach the Hub at {endpoint} "
        "(ConnectError: [Errno 111] Connection refused)\n"
    )


def test_push_refuses_a_folder_an_export_is_writing(exported: Path, tmp_path: Path) -> None:
    from filelock import FileLock

    from converter.outputs.export_folder import LOCK

    with FileLock(exported / LOCK), pytest.raises(NotAnExport, match="another `imagenet3d export`"):
        push(exported, REPO)


def test_a_source_url_is_recorded_and_published_without_its_credentials(
    served_zip: str, tmp_path: Path
) -> None:
    scheme, rest = served_zip.split("://")
    out = tmp_path / "out"  # beside the served files: export writes only into its own folder
    export(f"{scheme}://user:PASSWORD@{rest}?X-Amz-Signature=SIGNED#part", out, [MESHES])
    written = (out / CARD).read_text() + (out / MESHES / STAMP).read_text()
    assert "PASSWORD" not in written and "SIGNED" not in written and "user:" not in written
    assert f"`{served_zip}` (" in written
    assert "user info, query string, fragment removed" in written
    files = [path for path in out.rglob("*") if path.is_file()]
    assert not any(
        b"PASSWORD" in path.read_bytes() or b"SIGNED" in path.read_bytes() for path in files
    )
    assert upload_operations(out, REPO)  # what push would send passes its own check


def test_push_refuses_a_card_or_stamp_holding_a_credential(
    hub: Hub, exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for credential in ("http://user:PASSWORD@mirror.example/x.zip", "x.zip?X-Amz-Signature=S"):
        folder = shutil.copytree(exported, tmp_path / "signed", dirs_exist_ok=True)
        stamp = json.loads((folder / MESHES / STAMP).read_text())
        stamp["source_name"]["name"] = credential
        (folder / MESHES / STAMP).write_text(json.dumps(stamp))
        assert f"{folder / MESHES / STAMP} holds " in refused(folder, capsys)
    assert hub.repos == {} and hub.traffic.requests == []


def test_push_uploads_only_regular_files_of_the_folder_named_by_bare_name(
    hub: Hub, exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere.parquet"
    linked = shutil.copytree(exported, tmp_path / "linked")
    shard = next((linked / MESHES).glob("*.parquet"))
    shard.rename(outside)
    shard.symlink_to(outside)
    assert f"{shard} is listed in" in refused(linked, capsys)
    listed = shutil.copytree(exported, tmp_path / "listed")
    stamp = json.loads((listed / MESHES / STAMP).read_text())
    stamp["shards"][str(outside)] = shard_record(outside)
    (listed / MESHES / STAMP).write_text(json.dumps(stamp))
    assert f"{outside} is listed in" in refused(listed, capsys)
    assert hub.repos == {} and hub.traffic.requests == []
