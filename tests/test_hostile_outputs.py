"""Output folders as an attacker or a crash leaves them: an export's rows naming paths outside
OUT, a user's folder taken for an export, damaged shards, a killed preprocess's debris."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import struct
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi

from converter.cli import main
from converter.core.errors import DataError
from converter.core.files import temporary_path, write_atomic
from converter.look.visualize import Export, visualize
from converter.outputs.examples import iter_raw_examples
from converter.outputs.export import export
from converter.outputs.export_folder import CARD, STAMP, NotAnExport, check_complete, leftovers
from converter.outputs.hub import push
from converter.outputs.tool_folder import OutputMismatch, preprocess
from converter.pose.options import PoseOptions
from converter.read.source import open_source
from testbed.servers.hub import Hub
from tests.helpers import edited, folder_files

SHARD = "train-00000-of-00001.parquet"


def with_values(
    exported: Path, out: Path, config: str, column: str, values: dict[int, str]
) -> Path:
    """A copy of an export whose `config` train rows (by number) hold other `column` values."""
    shutil.copytree(exported, out)
    path = out / config / SHARD
    table = pq.read_table(path)
    cells = table[column].to_pylist()
    for row, value in values.items():
        cells[row] = value
    index = table.schema.get_field_index(column)
    field = table.schema.field(index)
    pq.write_table(table.set_column(index, field, pa.array(cells, field.type)), path)
    return out


HOSTILE_IDS = {1: "../../x", 2: "/tmp/absolute"}


def test_an_exports_rows_cannot_name_files_outside_out(exported: Path, tmp_path: Path) -> None:
    hostile = with_values(exported, tmp_path / "export", "raw", "image_id", HOSTILE_IDS)
    with pytest.raises(
        DataError, match=r"the image id '\.\./\.\./x' cannot be a file name"
    ) as caught:
        visualize(hostile, tmp_path / "out")
    assert caught.value.member == f"{hostile} raw train row 1" and caught.value.key == "image_id"
    assert not (tmp_path / "out").exists()


def test_skipping_them_draws_the_others_inside_out(exported: Path, tmp_path: Path) -> None:
    hostile = with_values(exported, tmp_path / "export", "raw", "image_id", HOSTILE_IDS)
    before = folder_files(tmp_path)
    rows = Export(hostile, "raw", "train", token=None, on_invalid="skip")
    written = visualize(rows, tmp_path / "out", per_category=20)
    assert rows.invalid.count == 2 and "[image_id]" in rows.invalid.summary()
    assert len([path for path in written if path.parent != tmp_path / "out"]) == 32 - 2
    assert all(path.resolve().is_relative_to(tmp_path / "out") for path in written)
    outside = {name: data for name, data in folder_files(tmp_path).items() if "out/" not in name}
    assert outside == before and not Path("/tmp/absolute.png").exists()


def test_a_hub_repositorys_rows_pass_the_same_check(
    exported: Path, hub: Hub, hf_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    push(exported, "me/hostile", token=hf_token)
    hostile = with_values(exported, tmp_path / "export", "raw", "image_id", HOSTILE_IDS)
    HfApi(token=hf_token).upload_file(
        path_or_fileobj=hostile / "raw" / SHARD,
        path_in_repo=f"raw/{SHARD}",
        repo_id="me/hostile",
        repo_type="dataset",
    )
    assert main(["visualize", "me/hostile", str(tmp_path / "out"), "--token", hf_token]) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("imagenet3d visualize: me/hostile raw train row 1 [image_id]: ")
    assert not (tmp_path / "out").exists()


def test_a_pose_rows_name_must_be_the_one_its_values_give(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = with_values(exported, tmp_path / "export", "pose3d", "name", {0: "../../evil_00"})
    assert main(["visualize", str(hostile), str(tmp_path / "out"), "--config", "pose3d"]) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"imagenet3d visualize: {hostile} pose3d train row 0 [name]: ")
    assert "'../../evil_00' is neither <image_id>_<k> nor" in error
    assert not (tmp_path / "out").exists()


def user_files(folder: Path) -> dict[str, bytes]:
    """A user's own files, some with names that look half-written."""
    files = {
        "downloads/big.iso.partial": b"half an iso",
        "notes.partial": b"mine",
        "raw.txt": b"not a configuration",
    }
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return files


def test_a_folder_export_did_not_write_is_refused_and_left_alone(
    sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "my-project"
    files = user_files(project)
    assert main(["export", str(sample_zip), str(project), "--config", "raw"]) == 1
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == (
        f"imagenet3d export: {project} is not empty (downloads) and was not written by "
        "`imagenet3d export`; choose an empty or new output folder"
    )
    assert folder_files(project) == files


def test_cleanup_removes_only_what_export_names(
    exported: Path, sample_zip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(exported, out)
    files = user_files(out)
    (out / ".partial-raw" / "prepared").mkdir(parents=True)
    (out / f".{CARD}.0123abcd.partial").write_text("half a card")
    assert {path.name for path in leftovers(out)} == {".partial-raw", f".{CARD}.0123abcd.partial"}
    export(sample_zip, out)
    assert leftovers(out) == []
    assert folder_files(out) == {**folder_files(exported), **files}


@pytest.fixture
def exported_raw(exported: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(exported, out)
    return out


def test_the_stamp_records_each_shards_size_and_digest(exported: Path) -> None:
    stamp = json.loads((exported / "raw" / STAMP).read_text())
    assert sorted(stamp["shards"]) == sorted(
        path.name for path in (exported / "raw").glob("*.parquet")
    )
    for name, recorded in stamp["shards"].items():
        data = (exported / "raw" / name).read_bytes()
        assert recorded == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert stamp["on_invalid"] == "raise"


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_damaged_configuration_is_named_and_rebuilt(
    exported: Path,
    exported_raw: Path,
    sample_zip: Path,
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shard = exported_raw / "raw" / SHARD
    if damage == "truncated":
        shard.write_bytes(shard.read_bytes()[:-100])
    else:
        shard.unlink()
    with pytest.raises(NotAnExport, match=f"{shard} is "):
        check_complete(exported_raw, ["raw", "pose3d", "pose6d", "cad"])
    with caplog.at_level(logging.WARNING, logger="converter"):
        export(sample_zip, exported_raw, ["raw"])
    assert f"raw: {shard} is " in caplog.text and "rebuilding it" in caplog.text
    assert folder_files(exported_raw) == folder_files(exported)


def test_overwrite_rebuilds_even_a_matching_configuration(
    exported_raw: Path, sample_zip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="converter"):
        export(sample_zip, exported_raw, ["raw"])
        assert "raw: already built" in caplog.text
        caplog.clear()
        export(sample_zip, exported_raw, ["raw"], overwrite=True)
    assert "raw: building" in caplog.text


def test_the_invalid_record_rule_is_part_of_the_stamp(exported_raw: Path, sample_zip: Path) -> None:
    skipping = open_source(sample_zip, on_invalid="skip")
    with pytest.raises(OutputMismatch, match=r"\(on_invalid differ\)"):
        export(skipping, exported_raw, ["raw"])
    export(skipping, exported_raw, ["raw"], overwrite=True)
    assert json.loads((exported_raw / "raw" / STAMP).read_text())["on_invalid"] == "skip"


def test_a_rerun_of_preprocess_removes_a_killed_runs_debris_and_only_that(
    sample_zip: Path, tmp_path: Path
) -> None:
    source = open_source(sample_zip)
    options = PoseOptions(categories=("car",))
    clean, out = tmp_path / "clean", tmp_path / "out"
    preprocess(source, clean, "pose3d", options, progress=False)
    preprocess(source, out, "pose3d", options, progress=False)
    annotations = out / "annotations" / "car_train"
    finished = next(annotations.glob("*.npz"))
    finished.rename(annotations / f".{finished.name}.0123abcd.partial")  # killed before the rename
    (out / ".preprocess.json.89abcdef.partial").write_text("half a stamp")
    files = {
        "annotations/car_train/notes.partial": b"mine",
        "mine/.x.npz.0123abcd.partial": b"mine",
    }
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    preprocess(source, out, "pose3d", options, progress=False)
    assert folder_files(out) == {**folder_files(clean), **files}


def test_a_link_planted_at_a_temporary_name_is_not_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One who can write into OUT and guesses a temporary name gains nothing by a link there:
    the write fails, the link's target and the final name are left as they were."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    out = tmp_path / "out"
    out.mkdir()
    guessed = random.Random(3)  # the guess: names drawn as the writer draws them
    monkeypatch.setattr("converter.core.files._NAMES", random.Random(3))
    guess = f".x.npz.{guessed.getrandbits(32):08x}.partial"
    (out / guess).symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_atomic(out / "x.npz", b"attacker's choice")
    assert victim.read_bytes() == b"keep me" and not (out / "x.npz").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")
def test_a_forked_worker_draws_temporary_names_of_its_own(tmp_path: Path) -> None:
    """Two processes making the same file (a cached sample, say) never share a temporary
    name, even when one is forked from the other, whose generator it starts with."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(writer, temporary_path(tmp_path / "x.npz").encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader) as pipe:
        assert pipe.read() != temporary_path(tmp_path / "x.npz")


def png_header(width: int, height: int) -> bytes:
    """A PNG declaring `width` x `height` RGB pixels, with almost none of them in its data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_a_photos_size_is_checked_from_its_header_before_decoding(
    sample_zip: Path, tmp_path: Path
) -> None:
    """9000 x 9000 is just under Pillow's pixel limit: 243 MB of RGB from a 57-byte file."""
    source = open_source(sample_zip)
    category, image_id = next(
        pair for pair in source.image_ids("train") if source.objects(*pair)[0]["width"]
    )
    member = source.photo_member(category, image_id)
    annotated = source.objects(category, image_id)[0]
    hostile = open_source(
        edited(sample_zip, tmp_path / "png.zip", {member: png_header(9000, 9000)}),
        on_invalid="skip",
    )
    assert list(iter_raw_examples(hostile, "train", pairs=[(category, image_id)])) == []
    assert hostile.invalid.members == [
        f"{member} [width/height]: photo is 9000 x 9000 but object 0 was annotated on "
        f"{annotated['width']} x {annotated['height']}"
    ]
