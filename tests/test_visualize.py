"""Overlays and contact sheets written per category, the same ones for the same seed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from converter.cli import main
from converter.look.exports import is_export
from converter.look.metrics import ground_truth
from converter.look.visualize import THUMBNAIL, choose, contact_sheet, visualize
from converter.outputs.hub import push
from converter.read.source import Source, open_source
from testbed.servers.hub import Hub
from tests.helpers import edited, folder_files


def test_choose_is_a_seeded_subset_in_order():
    candidates = list(range(20))
    chosen = choose(candidates, 5, seed=3, category="car")
    assert chosen == sorted(chosen) and len(set(chosen)) == 5
    assert chosen == choose(candidates, 5, seed=3, category="car")
    assert choose(candidates, 50, seed=3, category="car") == candidates
    others = {tuple(choose(candidates, 5, seed, "car")) for seed in range(5)}
    assert len(others) > 1


def test_raw_writes_an_overlay_per_photo_and_a_sheet_per_category(source, tmp_path):
    written = visualize(source, tmp_path, config="raw", per_category=2, seed=1)
    for category in source.categories():
        overlays = sorted((tmp_path / category).glob("*.png"))
        ids = {image_id for _, image_id in source.image_ids("train", [category])}
        assert len(overlays) == min(2, len(ids))
        assert {path.stem for path in overlays} <= ids
        assert (tmp_path / f"{category}.png").is_file()
    assert set(written) == {path for path in tmp_path.rglob("*.png")}


def test_pose_overlays_are_named_after_their_examples(source, tmp_path):
    written = visualize(source, tmp_path, config="pose6d", per_category=3, split="validation")
    names = set(ground_truth(source, "validation"))
    overlays = [path for path in written if path.parent != tmp_path]
    assert overlays and {path.stem for path in overlays} <= names
    assert all(Image.open(path).size == (800, 640) for path in overlays)


def test_the_same_seed_writes_the_same_files(source, tmp_path):
    visualize(source, tmp_path / "first", config="pose3d", per_category=2, seed=5)
    visualize(source, tmp_path / "second", config="pose3d", per_category=2, seed=5)
    first = folder_files(tmp_path / "first")
    assert first and first == folder_files(tmp_path / "second")
    assert not any(name.endswith(".tmp") for name in first)


def test_contact_sheet_lays_thumbnails_in_rows_of_four():
    items = [(f"n{index}", Image.new("RGB", (500, 300), "white")) for index in range(5)]
    sheet = contact_sheet("car", items)
    assert 4 * THUMBNAIL < sheet.width < 5 * THUMBNAIL
    assert 2 * THUMBNAIL < sheet.height < 3 * THUMBNAIL
    first_cell = (THUMBNAIL // 2, sheet.height // 4)
    empty_cell = (sheet.width - THUMBNAIL // 2, sheet.height * 3 // 4)
    assert sheet.getpixel(first_cell) == (255, 255, 255)
    assert sheet.getpixel(empty_cell) != (255, 255, 255)


def test_unknown_configuration_is_refused(source, tmp_path):
    with pytest.raises(ValueError, match="unknown configuration"):
        visualize(source, tmp_path, config="pose9d")


def test_cli_visualize(sample_zip, tmp_path, capsys):
    out = tmp_path / "pictures"
    code = main(
        [
            "visualize",
            str(sample_zip),
            str(out),
            "--config",
            "pose3d",
            "--per-category",
            "1",
            "--seed",
            "2",
        ]
    )
    assert code == 0
    sheets = sorted(path.name for path in out.glob("*.png"))
    assert sheets == [f"{category}.png" for category in open_source(sample_zip).categories()]
    assert str(out) in capsys.readouterr().out


def test_cli_visualize_refuses_a_negative_seed(sample_zip, tmp_path, capsys):
    assert main(["visualize", str(sample_zip), str(tmp_path), "--seed", "-1"]) == 1
    assert "seed must not be negative" in capsys.readouterr().err


def draw(source: str, out: Path, config: str) -> dict[str, bytes]:
    arguments = ["visualize", source, str(out), "--config", config, "--per-category", "3"]
    assert main([*arguments, "--seed", "4"]) == 0
    return folder_files(out)


def refuse_the_release(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the release was opened")

    monkeypatch.setattr(Source, "__init__", refused)


@pytest.mark.parametrize("config", ["raw", "pose3d", "pose6d"])
def test_an_export_draws_the_same_pngs_as_the_release_without_opening_it(
    config, sample_zip, exported, tmp_path, monkeypatch
):
    from_zip = draw(str(sample_zip), tmp_path / "zip", config)
    refuse_the_release(monkeypatch)
    from_export = draw(str(exported), tmp_path / "export", config)
    assert any(name.count("/") == 1 for name in from_zip), "some overlays were drawn"
    assert from_export == from_zip


def test_a_hub_repository_draws_the_same_pngs(sample_zip, exported, hub: Hub, hf_token, tmp_path):
    push(exported, "me/imagenet3d", token=hf_token, gated="none")
    from_zip = draw(str(sample_zip), tmp_path / "zip", "pose6d")
    assert draw("me/imagenet3d", tmp_path / "hub", "pose6d") == from_zip


def test_what_counts_as_an_export(sample_zip, sample_dir, exported):
    assert is_export(exported) and is_export("me/imagenet3d")
    assert is_export("hf://datasets/me/imagenet3d")
    assert not is_export("hf://datasets/me/imagenet3d/imagenet3d_v1.zip")
    assert not is_export(sample_zip) and not is_export(sample_dir) and not is_export("sample")


def test_val_is_the_validation_split(sample_zip, tmp_path):
    """docs/format.md, 'Release layout': the release's word for the split is taken too."""
    base = ["visualize", str(sample_zip), "--per-category", "1", "--split"]
    assert main([*base[:2], str(tmp_path / "val"), *base[2:], "val"]) == 0
    assert main([*base[:2], str(tmp_path / "validation"), *base[2:], "validation"]) == 0
    assert folder_files(tmp_path / "val") == folder_files(tmp_path / "validation")


def run(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The exit status and the last line on stderr of a command."""
    code = main(arguments)
    return code, (capsys.readouterr().err.splitlines() or [""])[-1]


def test_a_mesh_export_skips_is_skipped_by_visualize_too(sample_zip, tmp_path, capsys):
    """One rule: a refused mesh is an invalid record for `export cad` and `visualize` alike."""
    member = "imagenet3d_v1/CAD/car/01.off"
    hostile = edited(sample_zip, tmp_path / "nan.zip", {member: b"OFF\n1 0 0\nnan 0 0\n"})
    export = ["export", str(hostile), str(tmp_path / "out"), "--config", "cad"]
    pictures = ["visualize", str(hostile), str(tmp_path / "pictures"), "--per-category", "99"]
    for command in (export, pictures):
        code, last = run(command, capsys)
        assert code == 1 and f"{member}: line 3: expected a vertex of 3 finite numbers" in last
        code, last = run([*command, "--on-invalid", "skip"], capsys)
        assert code == 0 and last.startswith(f"1 invalid records skipped, first: {member}")
    assert (tmp_path / "pictures" / "car.png").is_file()


def test_an_exported_face_naming_a_missing_vertex_is_an_invalid_record(exported, tmp_path, capsys):
    export = shutil.copytree(exported, tmp_path / "export")
    (shard,) = (export / "cad").glob("*.parquet")
    table = pq.read_table(shard)
    rows = table.to_pylist()
    rows[0]["faces"][0] = [0, 1, 2_000_000]
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    broken = f"cad mesh {rows[0]['mesh_file'].split('/')[1]} {rows[0]['cad_index']} [faces]"
    pictures = ["visualize", str(export), str(tmp_path / "pictures"), "--per-category", "99"]
    code, last = run(pictures, capsys)
    assert code == 1 and f"{broken}: row 0: vertex index out of range" in last
    code, last = run([*pictures, "--on-invalid", "skip"], capsys)
    assert code == 0 and last.startswith(f"1 invalid records skipped, first: {broken}")
