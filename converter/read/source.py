"""One entry point to the release, whatever form it comes in, offering photos, objects and meshes.

`open_source` accepts an unpacked folder, a local zip, or an `http(s)://` or `hf://` zip, and
finds the layout inside: the v1 release (`images/`, `annotations/`, `lists/`, `CAD/` under one
top folder, whatever its name) or the older flat one (photo and annotation side by side, one
folder per category, no split lists).
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from converter.core.errors import DataError, SourceError, described
from converter.core.release import DEFAULT_SOURCE
from converter.read.archive import FolderStore, Store, ZipStore
from converter.read.mesh import MAX_MESH_BYTES
from converter.read.records import parse_objects
from converter.read.remote import open_remote
from converter.read.safe_npz import MAX_ANNOTATION_BYTES, load_npz_array

SPLITS = ("train", "validation")
# The release's own word for each split, in its list files and the public tool's folders.
RELEASE_SPLITS = {"train": "train", "validation": "val"}
# The release's words accepted for our split names where they differ (`val`).
SPLIT_ALIASES = {word: split for split, word in RELEASE_SPLITS.items() if word != split}
PHOTO_SUFFIXES = (".JPEG", ".jpeg", ".jpg", ".JPG")
OnInvalid = Literal["raise", "skip"]

_V1_PHOTO = re.compile(
    r"^(?P<prefix>(?:[^/]+/)?)images/(?P<category>[^/]+)/(?P<id>[^/]+)"
    rf"(?:{'|'.join(re.escape(suffix) for suffix in PHOTO_SUFFIXES)})$"
)
_FLAT_NPZ = re.compile(r"^(?P<prefix>(?:[^/]+/)?)(?P<category>[^/]+)/(?P<id>[^/]+)\.npz$")

# The largest member of each kind that is read (annotation files and meshes: see their
# readers). ImageNet's photos are JPEGs of at most a few thousand pixels a side, megabytes;
# 128 MiB is far beyond any. A split list has one id of about 16 bytes a line, for a category
# of some hundreds to thousands of photos; 1 MiB holds 60,000.
MAX_PHOTO_BYTES = 128 << 20
MAX_LIST_BYTES = 1 << 20
# Categories and image ids become file and folder names of the outputs (visualize writes
# OUT/<category>/<image id>.png), so each must be one plain name on every system: not empty,
# not `.`, `..` or hidden, no separator, no character Windows refuses, no control character.
MAX_NAME_LENGTH = 128
# A mesh's number is stored in the int32 `cad_index` column.
MAX_CAD_INDEX = 2**31 - 1
_UNSAFE_CHARACTER = re.compile(r'[/\\<>:"|?*\x00-\x1f\x7f]')


def unsafe_name(name: str, kind: str = "image id") -> str | None:
    """Why `name`, a category or image id, cannot be a file name in the outputs, or None."""
    unsafe = _UNSAFE_CHARACTER.search(name)
    if not name or len(name) > MAX_NAME_LENGTH:
        why = f"it has {len(name)} characters, not 1 to {MAX_NAME_LENGTH}"
    elif name.startswith("."):
        why = "it starts with '.'"
    elif unsafe:
        why = f"it holds {unsafe.group()!r}"
    else:
        return None
    return f"the {kind} {described(name)} cannot be a file name: {why}"


@dataclass
class InvalidLog:
    """What `on_invalid="skip"` passed over, for the summary at the end of a run."""

    count: int = 0
    members: list[str] = field(default_factory=list)
    shown: int = 5

    def add(self, error: DataError) -> None:
        self.count += 1
        if len(self.members) < self.shown:
            self.members.append(str(error))

    def tolerate(self, error: DataError, on_invalid: OnInvalid) -> None:
        """Raise a data error, or note it when skipping them (`on_invalid="skip"`)."""
        if on_invalid == "raise":
            raise error
        self.add(error)

    def merge(self, other: InvalidLog) -> None:
        """Fold in what another process (a worker over the same source) passed over."""
        self.count += other.count
        self.members.extend(other.members[: max(self.shown - len(self.members), 0)])

    def summary(self) -> str:
        if not self.count:
            return "no invalid records"
        return f"{self.count} invalid records skipped, first: " + "; ".join(self.members)


@dataclass(frozen=True)
class Layout:
    """Where each kind of member lives, for one of the two known layouts."""

    kind: Literal["v1", "flat"]
    prefix: str

    def photo_folder(self, category: str) -> str:
        images = "" if self.kind == "flat" else "images/"
        return f"{self.prefix}{images}{category}/"

    def annotation(self, category: str, image_id: str) -> str:
        annotations = "" if self.kind == "flat" else "annotations/"
        return f"{self.prefix}{annotations}{category}/{image_id}.npz"

    def split_list(self, category: str, split: str) -> str:
        return f"{self.prefix}lists/{category}_imagenet_{RELEASE_SPLITS[split]}.txt"

    def cad(self, category: str, cad_index: int) -> str:
        return f"{self.prefix}CAD/{category}/{cad_index:02d}.off"


def detect_layout(names: list[str], label: str) -> Layout:
    """The layout that the member names show, or a SourceError saying what was expected."""
    for name in names:
        match = _V1_PHOTO.match(name)
        if match:
            return Layout("v1", match["prefix"])
    present = set(names)
    for name in names:
        match = _FLAT_NPZ.match(name)
        if match and any(f"{name[:-4]}{suffix}" in present for suffix in PHOTO_SUFFIXES):
            return Layout("flat", match["prefix"])
    raise SourceError(
        f"{label}: no ImageNet3D layout found (expected imagenet3d_v1/images/<category>/"
        "<image_id>.JPEG with annotations/, lists/ and CAD/ beside it)"
    )


class Source:
    """The release's content, independent of how it is stored."""

    def __init__(
        self,
        store: Store,
        label: str,
        location: Any = None,
        token: Any = None,
        on_invalid: OnInvalid = "raise",
    ) -> None:
        self.store = store
        self.label = label
        self.on_invalid = on_invalid
        self.invalid = InvalidLog()
        self._open_args = (location, token)
        names = store.names()
        self.layout = detect_layout(names, label)
        self._photos = self._index_photos(names)
        self._names = set(names)
        self.shared_image_ids = _shared_image_ids(self._photos)
        # The last annotation array read: writers ask for a photo's records, then its array.
        self._last_array: tuple[str, Any] = ("", None)
        if self.layout.kind == "flat":
            warnings.warn(
                f"{label} has the older flat layout without split lists: every image is put in "
                "the train split and validation is empty",
                stacklevel=2,
            )

    def __reduce__(self) -> tuple[Any, ...]:
        """Reopen rather than copy, so worker processes get their own file handles."""
        location, token = self._open_args
        return (open_source, (location, token, self.on_invalid))

    def _index_photos(self, names: list[str]) -> dict[str, dict[str, str]]:
        """Photos by category and image id; one whose category or id is not a plain file name
        is refused here, where names enter the program, before any output path is made."""
        photos: dict[str, dict[str, str]] = defaultdict(dict)
        for name in names:
            folder, _, file = name.rpartition("/")
            stem, dot, suffix = file.rpartition(".")
            if f"{dot}{suffix}" not in PHOTO_SUFFIXES:
                continue
            category = folder.rpartition("/")[2]
            if f"{folder}/" != self.layout.photo_folder(category):
                continue
            problem = unsafe_name(category, "category") or unsafe_name(stem)
            if problem:
                self.tolerate(DataError(name, problem))
            else:
                photos[category][stem] = name
        return dict(photos)

    def categories(self) -> list[str]:
        return sorted(self._photos)

    def image_ids(self, split: str, categories: list[str] | None = None) -> list[tuple[str, str]]:
        """The (category, image_id) pairs of a split, sorted, from the official lists."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        chosen = self._chosen(categories)
        if self.layout.kind == "flat":
            pairs = [(c, i) for c in chosen for i in self._photos[c]] if split == "train" else []
            return sorted(pairs)
        return sorted(pair for category in chosen for pair in self._listed(category, split))

    def listed_ids(self, split: str, category: str) -> list[tuple[str, str]]:
        """The (category, image_id) pairs of one category's split in its list file's order (the
        order the public tool writes its lists in); sorted in the flat layout, which has none."""
        if self.layout.kind == "flat":
            return self.image_ids(split, [category])
        self._chosen([category])
        return self._listed(category, split)

    def _chosen(self, categories: list[str] | None) -> list[str]:
        if categories is None:
            return self.categories()
        unknown = sorted(set(categories) - set(self._photos))
        if unknown:
            raise ValueError(f"{self.label}: no such categories: {', '.join(unknown)}")
        return sorted(set(categories))

    def _listed(self, category: str, split: str) -> list[tuple[str, str]]:
        member = self.layout.split_list(category, split)
        if member not in self._names:
            return []
        try:
            lines = self.store.read(member, MAX_LIST_BYTES).decode("utf-8").split()
        except UnicodeDecodeError:
            raise DataError(member, "split list is not UTF-8 text") from None
        photos = self._photos[category]
        absent = [(image_id, unsafe_name(image_id)) for image_id in lines if image_id not in photos]
        refused = [problem for _, problem in absent if problem]
        if refused:
            self.tolerate(DataError(member, f"{len(refused)} lines refused, first: {refused[0]}"))
        missing = [image_id for image_id, problem in absent if not problem]
        if missing:
            self.tolerate(
                DataError(member, f"lists {len(missing)} images with no photo, first {missing[0]}")
            )
        return [(category, image_id) for image_id in dict.fromkeys(lines) if image_id in photos]

    def photo_member(self, category: str, image_id: str) -> str:
        try:
            return self._photos[category][image_id]
        except KeyError:
            raise DataError(f"{category}/{image_id}", f"no such photo in {self.label}") from None

    def photo_bytes(self, category: str, image_id: str) -> bytes:
        return self.store.read(self.photo_member(category, image_id), MAX_PHOTO_BYTES)

    def position(self, category: str, image_id: str) -> int:
        """Where the photo sits in the container: reading in this order keeps remote reads close."""
        return self.store.position(self.photo_member(category, image_id))

    def objects(self, category: str, image_id: str) -> list[dict[str, Any]]:
        """The checked object records of one photo (an empty list for a photo without objects)."""
        member = self.layout.annotation(category, image_id)
        try:
            array = self.annotation_array(category, image_id)
            return [] if array is None else parse_objects(array, category, member, self.tolerate)
        except DataError as error:
            self.tolerate(error)
            return []

    def annotation_array(self, category: str, image_id: str) -> Any:
        """The photo's annotation array as stored, loaded safely; None when it has no file.

        For writers that copy the release's value types, as the public tool does.
        """
        member = self.layout.annotation(category, image_id)
        if member not in self._names:
            return None
        if self._last_array[0] != member:
            data = self.store.read(member, MAX_ANNOTATION_BYTES)
            self._last_array = (member, load_npz_array(data, member))
        return self._last_array[1]

    def tolerate(self, error: DataError) -> None:
        """Raise a data error, or note it and go on when the source was opened to skip them."""
        self.invalid.tolerate(error, self.on_invalid)

    def cad_indices(self, category: str) -> list[int]:
        """The numbers of the category's meshes; a file numbered beyond what the `cad_index`
        column holds is refused (skipped under `on_invalid="skip"`), named."""
        folder = self.layout.cad(category, 0).rpartition("/")[0] + "/"
        meshes = sorted(name for name in self._names if name.startswith(folder))
        indices = []
        for name in meshes:
            stem = name[len(folder) :].removesuffix(".off")
            if not (stem.isascii() and stem.isdigit() and name.endswith(".off")):
                continue
            if len(stem) > len(str(MAX_CAD_INDEX)) or int(stem) > MAX_CAD_INDEX:
                problem = f"mesh number {described(stem)} is beyond any cad_index ({MAX_CAD_INDEX})"
                self.tolerate(DataError(name, problem))
            elif self.cad_member(category, int(stem)) == name:
                indices.append(int(stem))
        return indices

    def cad_member(self, category: str, cad_index: int) -> str:
        return self.layout.cad(category, cad_index)

    def cad_bytes(self, category: str, cad_index: int) -> bytes:
        member = self.cad_member(category, cad_index)
        if member not in self._names:
            raise DataError(member, f"no CAD mesh {cad_index} for {category} in {self.label}")
        return self.store.read(member, MAX_MESH_BYTES)


def _shared_image_ids(photos: dict[str, dict[str, str]]) -> frozenset[str]:
    """Image ids whose photo more than one category holds: their example names need the category."""
    counts = Counter(image_id for ids in photos.values() for image_id in ids)
    return frozenset(image_id for image_id, count in counts.items() if count > 1)


def open_source(
    location: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
    on_invalid: OnInvalid = "raise",
) -> Source:
    """Open the release from a folder or a zip (local or remote); the Hub by default."""
    label = DEFAULT_SOURCE if location is None else os.fspath(location)
    return Source(_open_store(label, token), label, location, token, on_invalid)


def _open_store(location: str, token: str | bool | None) -> Store:
    if re.match(r"^(hf|https?)://", location):
        return ZipStore(open_remote(location, token), location)
    path = Path(location).expanduser()
    if path.is_dir():
        return FolderStore(path)
    if not path.exists():
        raise SourceError(f"{location}: no such file or folder")
    return ZipStore(path.open("rb"), location)
