"""A release written the way the authors' tools wrote annotations reads with the right values.

The annotation app saved each object with `np.savez(**npy)` and read it back as 0-d arrays, with a
float `viewport` and the annotator's id; PASCAL3D+-style code (NeMo's) handles MATLAB records,
where every number is a (1, 1) array and `principal` a row; other tools stored the Python values
the release's README names. Here the sample's objects are rewritten in those forms, pickled as
numpy 1.x pickled them, with CAD files written as the real ones are (16 decimals, CRLF line ends),
and every command, in its default mode, must give what it gives on the sample itself
(docs/format.md, 'Value forms').
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from converter.cli import main
from converter.outputs.tool_folder import STAMP
from converter.read.mesh import Mesh, load_cad
from converter.read.source import SPLITS, Source, open_source
from tests.helpers import folder_files

ANNOTATOR = "annotator_07"
NUMBERS = ("height", "width", "azimuth", "elevation", "theta", "distance", "px", "py", "focal")
NUMBERS += ("viewport", "cad_index", "ignore")


def release_values(record: dict[str, Any]) -> dict[str, Any]:
    """A reader's record as the release's keys with plain values; a missing value stays missing."""
    values = {key: value for key, value in record.items() if value is not None}
    for key in ("index", "category", "extra"):
        values.pop(key, None)
    return {"class": record["category"], **values}


def as_the_app_saved_it(values: dict[str, Any]) -> dict[str, Any]:
    """The annotation app: its fields saved with `np.savez(**npy)`, read back with `np.load`."""
    npy = {**values, "viewport": float(values["viewport"]), "annotator": ANNOTATOR}
    buffer = io.BytesIO()
    np.savez(buffer, **npy)
    with np.load(io.BytesIO(buffer.getvalue())) as saved:
        return dict(saved)


def as_a_matlab_record(values: dict[str, Any]) -> dict[str, Any]:
    """PASCAL3D+-style: every number a (1, 1) double, `principal` a row, a bool `ignore`."""
    record = {key: np.array([[float(values[key])]]) for key in NUMBERS if key in values}
    record["ignore"] = np.array([[values["ignore"]]])
    if "principal" in values:
        record["principal"] = np.array([values["principal"]])
    text = ("class", "object_status", "dense")
    return {**record, "bbox": np.array(values["bbox"])} | {
        key: values[key] for key in text if key in values
    }


def as_python_values(values: dict[str, Any]) -> dict[str, Any]:
    """The types the release's README states: Python float, int and str (and a whole float id)."""
    return {**values, "cad_index": float(values["cad_index"]), "ignore": bool(values["ignore"])}


WRITERS: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (
    as_the_app_saved_it,
    as_a_matlab_record,
    as_python_values,
)


def saved_by_numpy_1(objects: list[dict[str, Any]]) -> bytes:
    """`np.savez(annotations=...)` as numpy 1.x wrote it: a pickle of protocol 3 naming
    numpy.core's modules (numpy 2 writes protocol 4 and numpy._core)."""
    array = np.empty(len(objects), dtype=object)
    array[:] = objects
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, np.lib.format.header_data_from_array_1_0(array))
    stream = pickle.dumps(array, protocol=3)
    assert b"cnumpy._core.multiarray\n" in stream  # GLOBAL opcodes: text, no lengths
    npy.write(stream.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annotations.npy", npy.getvalue())
    return buffer.getvalue()


def real_style_off(mesh: Mesh) -> bytes:
    """OFF as the release's CAD files are written: 16 decimals, here with CRLF line ends."""
    lines = ["OFF", f"{len(mesh.vertices)} {len(mesh.faces)} 0"]
    lines += [" ".join(f"{value:.16f}" for value in vertex) for vertex in mesh.vertices]
    lines += ["3 " + " ".join(str(index) for index in face) for face in mesh.faces]
    return "\r\n".join([*lines, ""]).encode("ascii")


def rewritten(sample: Source, path: Path, out: Path) -> Path:
    """The sample zip with every annotation and CAD file written as the authors' tools wrote them."""
    changes: dict[str, bytes] = {}
    count = 0
    for category, image_id in (pair for split in SPLITS for pair in sample.image_ids(split)):
        objects = []
        for record in sample.objects(category, image_id):
            objects.append(WRITERS[count % len(WRITERS)](release_values(record)))
            count += 1
        changes[sample.layout.annotation(category, image_id)] = saved_by_numpy_1(objects)
    for category in sample.categories():
        for index in sample.cad_indices(category):
            changes[sample.cad_member(category, index)] = real_style_off(
                load_cad(sample, category, index)
            )
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, changes.get(info.filename) or source.read(info))
    return out


@pytest.fixture(scope="module")
def tools_zip(sample_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tools") / "imagenet3d_v1.zip"
    return rewritten(open_source(sample_zip), sample_zip, out)


def without_extra(value: Any) -> Any:
    """Rows or records with every `extra` left out, for comparing what the forms must not change."""
    if isinstance(value, dict):
        return {key: without_extra(item) for key, item in value.items() if key != "extra"}
    if isinstance(value, list):
        return [without_extra(item) for item in value]
    return value


def test_every_object_reads_as_the_sample_reads_it(sample_zip: Path, tools_zip: Path) -> None:
    sample, tools = open_source(sample_zip), open_source(tools_zip)
    written = 0
    for pair in (pair for split in SPLITS for pair in sample.image_ids(split)):
        for ours, theirs in zip(sample.objects(*pair), tools.objects(*pair), strict=True):
            assert without_extra(theirs) == without_extra(ours), pair
            app = WRITERS[written % len(WRITERS)] is as_the_app_saved_it
            assert theirs["extra"] == (json.dumps({"annotator": ANNOTATOR}) if app else None)
            written += 1
    assert written >= 3 * len(WRITERS)
    for category in sample.categories():
        for index in sample.cad_indices(category):
            np.testing.assert_allclose(
                load_cad(tools, category, index).vertices,
                load_cad(sample, category, index).vertices,
                rtol=0,
                atol=1e-15,
            )


def run(*argv: str) -> None:
    assert main(list(argv)) == 0


def test_inspect_prints_the_same_counts(
    sample_zip: Path, tools_zip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run("inspect", str(sample_zip))
    ours = capsys.readouterr().out.splitlines()[1:]
    run("inspect", str(tools_zip))
    assert capsys.readouterr().out.splitlines()[1:] == ours


def npz_values(files: dict[str, bytes]) -> dict[str, Any]:
    """Every output file; each npz as its keys' plain values, whatever dtypes it chose."""
    values: dict[str, Any] = {}
    for name, data in files.items():
        if name.endswith(".npz"):
            with np.load(io.BytesIO(data)) as npz:
                values[name] = {key: npz[key].tolist() for key in npz.files}
        else:
            values[name] = data
    return values


@pytest.mark.parametrize("mode", ["pose3d", "pose6d"])
def test_preprocess_writes_the_same_folder(
    sample_zip: Path, tools_zip: Path, tmp_path: Path, mode: str
) -> None:
    outputs = []
    for source in (sample_zip, tools_zip):
        out = tmp_path / source.parent.name
        run("preprocess", str(source), str(out), "--mode", mode)
        files = folder_files(out)
        del files[STAMP]  # stamps a digest of its source, which differs by design
        outputs.append(npz_values(files))
    assert outputs[0] == outputs[1] and len(outputs[0]) > 100


def test_export_writes_the_same_rows(exported: Path, tools_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run("export", str(tools_zip), str(out), "--num-proc", "1")  # `exported`'s shards: one process
    shards = sorted(path.relative_to(exported) for path in exported.rglob("*.parquet"))
    assert shards == sorted(path.relative_to(out) for path in out.rglob("*.parquet"))
    for shard in shards:
        ours, theirs = (pq.read_table(root / shard).to_pylist() for root in (exported, out))
        if shard.parts[0] == "cad":
            # The real-style OFF files round each coordinate to 16 decimals: a residue such
            # as 1.6e-18 becomes 0, a difference of at most 5e-17 that float32 keeps.
            for mine, rewritten_mesh in zip(ours, theirs, strict=True):
                np.testing.assert_allclose(
                    rewritten_mesh.pop("vertices"), mine.pop("vertices"), rtol=0, atol=1e-16
                )
        assert without_extra(theirs) == without_extra(ours), shard


def test_visualize_draws_the_same_pictures(
    sample_zip: Path, tools_zip: Path, tmp_path: Path
) -> None:
    pictures = []
    for source in (sample_zip, tools_zip):
        out = tmp_path / source.parent.name
        run("visualize", str(source), str(out))
        pictures.append(folder_files(out))
    assert pictures[0] == pictures[1] and len(pictures[0]) > 4
