"""The generated archives keep their promises, checked by reading them by hand (zipfile, numpy, Pillow).

The sample must hold every case the readers meet in the release, where its manifest says; its
drawn objects must sit where their annotations and the release's camera put them; the workload must
have the release's shape.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from converter.pose.camera import project
from converter.read.mesh import Mesh, load_cad, read_off
from converter.read.source import open_source
from converter.sample import Case, cached_sample, sample_cases, write_sample
from converter.sample.writer import (
    ANNOTATOR,
    BACKGROUND_MAX,
    CONTAINERS,
    CRLF_CAD,
    OBJECT_MIN,
    PNG_PHOTO,
    VARIANTS,
)
from testbed.workload import write_workload

TOP = "imagenet3d_v1/"
STATUSES = {"status_good", "status_partially", "status_barely", "status_bad"}
POSE_KEYS = ("azimuth", "elevation", "theta", "px", "py", "principal")
POSE = ("azimuth", "elevation", "theta", "distance", "px", "py", "viewport")  # camera.project order
EVERY_CASE = {
    *STATUSES,
    *("dense_yes", "dense_no", "no pose keys", "distance 0", "no status"),
    *("grey", "CMYK", "tiny", "large", "portrait", "landscape", "scale < 0.5", "scale > 4"),
    "two CAD meshes",
}
EVERY_FORM = {
    *CONTAINERS,
    *VARIANTS,
    *("principal (1, 2)", "principal (2, 1)", PNG_PHOTO, CRLF_CAD),
}


@dataclass
class Photo:
    category: str
    image_id: str
    split: str
    image: Image.Image
    stored: list[dict]  # the objects as the file holds them, in their value forms
    objects: list[dict]  # the same with plain Python values
    jpeg_size: int


@dataclass
class Release:
    photos: list[Photo]
    meshes: dict[tuple[str, int], Mesh]
    cad_files: dict[str, bytes]


def plain(record: dict) -> dict:
    """Plain Python values, whatever form each is stored in (numbers, text, lists)."""
    return {key: np.asarray(value).squeeze().tolist() for key, value in record.items()}


def drawn_object_mask(photo: Image.Image) -> np.ndarray:
    """Pixels where the generator painted an object with a pose (bool, height x width)."""
    pixels = np.asarray(photo.convert("RGB"))
    return pixels.min(axis=2) > (BACKGROUND_MAX + OBJECT_MIN) // 2


def read_release(path: Path) -> Release:
    """Everything in a v1 archive; np.load with pickle is fine here: we just generated the data."""
    with zipfile.ZipFile(path) as archive:
        photos = []
        for name in archive.namelist():
            if not name.startswith(TOP + "lists/"):
                continue
            category, _, split = Path(name).stem.rpartition("_imagenet_")
            for image_id in archive.read(name).decode().split():
                jpeg = archive.read(f"{TOP}images/{category}/{image_id}.JPEG")
                npz = np.load(
                    io.BytesIO(archive.read(f"{TOP}annotations/{category}/{image_id}.npz")),
                    allow_pickle=True,
                )
                stored = list(npz["annotations"])
                image = Image.open(io.BytesIO(jpeg))
                objects = [plain(record) for record in stored]
                photos.append(Photo(category, image_id, split, image, stored, objects, len(jpeg)))
        cad_files = {
            name: archive.read(name) for name in archive.namelist() if name.endswith(".off")
        }
        meshes = {
            (name.split("/")[-2], int(Path(name).stem)): read_off(data, name)
            for name, data in cad_files.items()
        }
    return Release(photos, meshes, cad_files)


@pytest.fixture(scope="module")
def release(sample_zip: Path) -> Release:
    return read_release(sample_zip)


def objects(release: Release) -> list[dict]:
    return [record for photo in release.photos for record in photo.objects]


def posed(photo: Photo) -> list[dict]:
    return [record for record in photo.objects if record["distance"] > 0]


def cases(release: Release) -> set[str]:
    """Which of the cases a reader must handle the archive holds."""
    records = objects(release)
    found = {str(record.get(key)) for record in records for key in ("object_status", "dense")}
    if any(not any(key in record for key in POSE_KEYS) for record in records):
        found.add("no pose keys")
    if any(record["distance"] == 0 and "azimuth" in record for record in records):
        found.add("distance 0")
    if any("object_status" not in record for record in records):
        found.add("no status")
    for photo in release.photos:
        width, height = photo.image.size
        found.add({"L": "grey", "CMYK": "CMYK", "RGB": "RGB"}[photo.image.mode])
        found.add("portrait" if height > width else "landscape" if width > height else "square")
        if max(width, height) <= 60:
            found.add("tiny")
        if max(width, height) >= 1600:
            found.add("large")
    scales = [record["distance"] / 4 for record in records if record["distance"] > 0]
    if min(scales) < 0.5:
        found.add("scale < 0.5")
    if max(scales) > 4:
        found.add("scale > 4")
    used = {
        (photo.category, int(record["cad_index"]))
        for photo in release.photos
        for record in photo.objects
    }
    if len(used) > len({category for category, _ in used}):
        found.add("two CAD meshes")
    return found


def projected(mesh: Mesh, record: dict) -> np.ndarray:
    """Image points of the mesh vertices under the annotated pose (the release's camera)."""
    return project(mesh.vertices, *(record[key] for key in POSE))


def silhouette(mesh: Mesh, record: dict, size: tuple[int, int]) -> np.ndarray:
    """The mesh filled where the annotation puts it (bool mask)."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for triangle in projected(mesh, record)[mesh.faces].reshape(-1, 6).tolist():
        draw.polygon(triangle, fill=1)
    return np.asarray(mask, dtype=bool)


def test_the_same_seed_gives_the_same_bytes(sample_zip: Path, tmp_path: Path) -> None:
    assert write_sample(tmp_path / "again.zip", seed=0).read_bytes() == sample_zip.read_bytes()
    assert write_sample(tmp_path / "other.zip", seed=1).read_bytes() != sample_zip.read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["again.zip", "other.zip"]


def test_members_follow_the_v1_layout(sample_zip: Path) -> None:
    with zipfile.ZipFile(sample_zip) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names) and all(name.startswith(TOP) for name in names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    files = [name for name in names if not name.endswith("/")]
    stems = {
        kind: {
            name[len(TOP + kind) :].rsplit(".", 1)[0]
            for name in files
            if name.startswith(TOP + kind)
        }
        for kind in ("images/", "annotations/")
    }
    assert stems["images/"] == stems["annotations/"]
    assert all(name.endswith(".JPEG") for name in files if name.startswith(TOP + "images/"))
    categories = {stem.split("/")[0] for stem in stems["images/"]}
    for category in categories:
        assert f"{TOP}lists/{category}_imagenet_train.txt" in names
        assert f"{TOP}lists/{category}_imagenet_val.txt" in names
        assert f"{TOP}CAD/{category}/01.off" in names


def test_every_photo_is_listed_in_exactly_one_split(sample_zip: Path, release: Release) -> None:
    listed = [(photo.category, photo.image_id) for photo in release.photos]
    with zipfile.ZipFile(sample_zip) as archive:
        photos = {
            tuple(name[len(TOP + "images/") : -len(".JPEG")].split("/"))
            for name in archive.namelist()
            if name.endswith(".JPEG")
        }
    assert len(listed) == len(set(listed)) and set(listed) == photos


def test_four_real_categories_each_with_both_splits(release: Release) -> None:
    splits = {(photo.category, photo.split) for photo in release.photos}
    categories = {category for category, _ in splits}
    assert {"aeroplane", "bicycle", "car", "chair"} <= categories
    assert splits == {(category, split) for category in categories for split in ("train", "val")}
    assert all(
        photo.image_id.startswith("n0") and "_" in photo.image_id for photo in release.photos
    )


def test_photos_vary_in_size_orientation_and_colour_mode(release: Release) -> None:
    sizes = [photo.image.size for photo in release.photos]
    assert len(sizes) >= 40
    assert any(max(size) <= 60 for size in sizes) and any(max(size) >= 1600 for size in sizes)
    assert any(w > h for w, h in sizes) and any(w < h for w, h in sizes)
    modes = {photo.image.mode for photo in release.photos}
    assert modes == {"RGB", "L", "CMYK"}
    for photo in release.photos:
        assert all(
            (record["width"], record["height"]) == photo.image.size for record in photo.objects
        )


def test_objects_carry_the_release_keys_and_values(release: Release) -> None:
    for record in objects(release):
        assert "distance" in record and "ignore" in record
        assert isinstance(record["class"], str) and record["height"] == int(record["height"])
        assert len(record["bbox"]) == 4 and record["focal"] == 1
        if "azimuth" in record:
            assert record["principal"] == [record["px"], record["py"]]
        assert record["ignore"] == (record.get("object_status") == "status_bad")
        assert record["cad_index"] == int(record["cad_index"]) >= 1
    assert {record["viewport"] for record in objects(release)} >= {3000}


NUMBER_KEYS = ("height", "width", "azimuth", "elevation", "theta", "distance", "px", "py")
NUMBER_KEYS += ("focal", "viewport", "cad_index", "ignore")


def holds(form: str, record: dict) -> bool:
    """Whether a stored object shows `form` (a container or a variant of the manifest)."""
    numbers = [record[key] for key in NUMBER_KEYS if key in record]
    values = list(record.values())
    shapes = {"size-1 arrays (1,)": ((1,), (1, 2)), "size-1 arrays (1, 1)": ((1, 1), (2, 1))}
    if form == "numpy scalars":
        return all(isinstance(value, np.generic) for value in numbers)
    if form == "python values":
        return all(type(value) in (str, int, float, bool, list) for value in values)
    if form == "0-d arrays":
        return all(isinstance(value, np.ndarray) and value.ndim == 0 for value in numbers)
    if form in shapes:
        number, line = shapes[form]
        principal = record.get("principal", np.zeros(line))
        return np.shape(principal) == line and all(np.shape(value) == number for value in numbers)
    if form.startswith("principal"):
        return (
            "principal" in record
            and str(np.shape(record["principal"])) == form[len("principal ") :]
        )
    if form in ("float viewport", "float cad_index"):
        return np.asarray(record[form.split()[1]]).dtype.kind == "f"
    if form == "bool ignore":
        return np.asarray(record["ignore"]).dtype == bool
    if form == "annotator key":
        return plain(record).get("annotator") == ANNOTATOR
    raise AssertionError(f"no check for {form}")


def check_manifest(release: Release, manifest: list[Case]) -> None:
    """Each object, photo and CAD folder shows exactly the forms the manifest gives it."""
    listed = {(case.category, case.image_id, case.index, case.name) for case in manifest}
    for photo in release.photos:
        for index, record in enumerate(photo.stored):
            for form in (*CONTAINERS, *VARIANTS, "principal (1, 2)", "principal (2, 1)"):
                expected = (photo.category, photo.image_id, index, form) in listed
                assert holds(form, record) == expected, (photo.image_id, index, form)
        png = (photo.category, photo.image_id, None, PNG_PHOTO) in listed
        assert photo.image.format == ("PNG" if png else "JPEG"), photo.image_id
    for name, data in release.cad_files.items():
        crlf = (name.split("/")[-2], None, None, CRLF_CAD) in listed
        assert (b"\r\n" in data) == crlf and (data.count(b"\n") == data.count(b"\r\n")) == crlf


def test_every_form_is_where_the_manifest_says(release: Release) -> None:
    manifest = sample_cases(seed=0)
    assert {case.name for case in manifest} >= EVERY_FORM
    check_manifest(release, manifest)


def test_objects_cover_every_status_and_special_case(release: Release) -> None:
    assert all(1 <= len(photo.objects) <= 3 for photo in release.photos)
    records = objects(release)
    assert {record.get("object_status") for record in records} == STATUSES | {None}
    assert {record.get("dense") for record in records} == {"dense_yes", "dense_no", None}
    keyless = [record for record in records if not any(key in record for key in POSE_KEYS)]
    assert keyless and all(record["distance"] <= 0 for record in keyless)
    assert any(record["distance"] == 0 and "azimuth" in record for record in records)
    older = [record for record in records if "object_status" not in record]
    assert older and all("dense" not in record and record["distance"] > 0 for record in older)
    assert cases(release) >= EVERY_CASE


@pytest.mark.parametrize("seed", [1, 2])
def test_every_seed_holds_every_case(seed: int, tmp_path: Path) -> None:
    release = read_release(write_sample(tmp_path / "sample.zip", seed=seed))
    assert cases(release) >= EVERY_CASE
    manifest = sample_cases(seed)
    assert {case.name for case in manifest} >= EVERY_FORM
    check_manifest(release, manifest)


def test_the_reader_and_load_cad_see_the_same_sample(sample_zip: Path, release: Release) -> None:
    source = open_source(sample_zip)
    assert source.categories() == sorted({photo.category for photo in release.photos})
    for split, name in (("train", "train"), ("validation", "val")):
        ours = sorted((p.category, p.image_id) for p in release.photos if p.split == name)
        assert source.image_ids(split) == ours
    for category in source.categories():
        for index in source.cad_indices(category):
            mesh = load_cad(source, category, index)
            np.testing.assert_array_equal(mesh.vertices, release.meshes[category, index].vertices)


def test_the_reader_reads_each_form_as_its_value(sample_zip: Path, release: Release) -> None:
    source = open_source(sample_zip)
    annotated = {case.image_id for case in sample_cases() if case.name == "annotator key"}
    for photo in release.photos:
        records = source.objects(photo.category, photo.image_id)
        assert len(records) == len(photo.objects)
        for record, expected in zip(records, photo.objects, strict=True):
            assert record["category"] == expected["class"]
            for key in (*NUMBER_KEYS, "bbox", "principal", "object_status", "dense"):
                assert record[key] == expected.get(key), (photo.image_id, key)
            for key in ("height", "width", "viewport", "cad_index"):
                assert type(record[key]) is int
            assert type(record["ignore"]) is bool
            extra = {} if record["extra"] is None else json.loads(record["extra"])
            assert extra == ({"annotator": ANNOTATOR} if "annotator" in expected else {})
        assert any("annotator" in item for item in photo.objects) == (photo.image_id in annotated)


def test_pose3d_scale_spans_the_release_range(release: Release) -> None:
    scales = [record["distance"] / 4 for record in objects(release) if record["distance"] > 0]
    assert min(scales) < 0.5 and max(scales) > 4


def test_cad_meshes_differ_per_category_and_one_has_two(release: Release) -> None:
    per_category: dict[str, list[int]] = {}
    for category, index in sorted(release.meshes):
        per_category.setdefault(category, []).append(index)
    assert all(indices == list(range(1, len(indices) + 1)) for indices in per_category.values())
    assert max(len(indices) for indices in per_category.values()) >= 2
    assert all(100 <= len(mesh.faces) <= 1000 for mesh in release.meshes.values())
    assert len({mesh.vertices.tobytes() for mesh in release.meshes.values()}) == len(release.meshes)
    used = {
        (photo.category, int(record["cad_index"]))
        for photo in release.photos
        for record in photo.objects
    }
    assert used == set(release.meshes)


def test_the_box_is_the_projected_mesh_clipped_to_the_photo(release: Release) -> None:
    for photo in release.photos:
        width, height = photo.image.size
        for record in posed(photo):
            points = projected(release.meshes[photo.category, int(record["cad_index"])], record)
            low = np.maximum(points.min(axis=0), 0)
            high = np.minimum(points.max(axis=0), [width - 1, height - 1])
            np.testing.assert_allclose(record["bbox"], [*low, *high])
    boxes = [record["bbox"] for photo in release.photos for record in photo.objects]
    assert any(box[0] == 0 or box[1] == 0 for box in boxes), "some object runs across a border"


def overlap(photo: Photo, release: Release, shift: float = 0.0) -> tuple[list[float], float]:
    """Per posed object, the share of its projected silhouette the generator painted; and the
    photo's IoU between all projected silhouettes and all painted pixels. `shift` moves px by
    that share of the box width towards the photo's centre, to show a wrong annotation fails."""
    drawn = drawn_object_mask(photo.image)
    union = np.zeros_like(drawn)
    shares = []
    for record in posed(photo):
        inwards = 1 if record["px"] < photo.image.width / 2 else -1
        step = inwards * shift * (record["bbox"][2] - record["bbox"][0])
        moved = dict(record, px=record["px"] + step)
        mask = silhouette(
            release.meshes[photo.category, int(record["cad_index"])], moved, photo.image.size
        )
        shares.append((mask & drawn).sum() / mask.sum())
        union |= mask
    iou = (union & drawn).sum() / max((union | drawn).sum(), 1)
    return shares, float(iou)


def test_painted_objects_sit_where_their_annotation_projects_them(release: Release) -> None:
    """The annotation read back from the archive, the OFF mesh read back and the release's camera
    reproduce the pixels painted in the decoded JPEG (grey, CMYK and tiny photos included)."""
    checked = 0
    for photo in release.photos:
        shares, iou = overlap(photo, release)
        assert min(shares, default=1.0) >= 0.9, (photo.image_id, shares)
        assert iou >= 0.9 if shares else not drawn_object_mask(photo.image).any(), (
            photo.image_id,
            iou,
        )
        checked += len(shares)
    assert checked == sum(len(posed(photo)) for photo in release.photos) > 40


def test_a_wrong_annotation_fails_the_silhouette_check(release: Release) -> None:
    for photo in release.photos:
        shares, iou = overlap(photo, release, shift=0.35)
        if shares:
            assert min(shares) < 0.9 and iou < 0.9, photo.image_id


def test_cached_sample_is_written_once_to_the_user_cache(
    sample_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = cached_sample()
    assert (
        path.parent == tmp_path / "imagenet3d-hf" and path.read_bytes() == sample_zip.read_bytes()
    )
    written = path.stat().st_mtime_ns
    assert cached_sample() == path and path.stat().st_mtime_ns == written
    assert list(path.parent.iterdir()) == [path]


def test_the_workload_has_the_release_shape(tmp_path: Path) -> None:
    workload = read_release(write_workload(tmp_path / "workload.zip", photos=120, seed=3))
    photos = workload.photos
    assert len(photos) == 120 and {photo.split for photo in photos} == {"train", "val"}
    long_sides = np.array([max(photo.image.size) for photo in photos])
    assert 0.55 <= np.mean(long_sides < 600) <= 0.85 and 0.02 <= np.mean(long_sides > 1800) <= 0.2
    assert any(w < h for w, h in (photo.image.size for photo in photos))
    assert 1.15 <= np.mean([len(photo.objects) for photo in photos]) <= 1.45
    scales = np.array([record["distance"] / 4 for record in objects(workload)])
    assert scales.min() >= 0.5 and scales.max() <= 5 and 1.6 <= np.median(scales) <= 2.4
    typical = [photo.jpeg_size for photo in photos if max(photo.image.size) < 600]
    assert np.median(typical) > 40_000, "textured photos, not flat colour"
