"""One entry point to the release, whatever form it comes in, offering photos, objects and meshes.

`open_source` accepts an unpacked folder, a local zip, or an `http(s)://` or `hf://` zip, and
finds the layout inside: the v1 release (`images/`, `annotations/`, `lists/`, `CAD/` under one
top folder, whatever its name) or the older flat one (photo and annotation side by side, one
folder per category, no split lists).
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from converter.core.errors import DataError, SourceError, check_choice, described
from converter.core.names import example_stem, folded, unsafe_name
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
# A mesh's number is stored in the int32 `cad_index` column.
MAX_CAD_INDEX = 2**31 - 1


def aliased_split(split: str) -> str:
    """Our name of a split given by the release's word (`val`); any other word as it is."""
    return SPLIT_ALIASES.get(split, split)


def split_name(split: str) -> str:
    """Our name of a split given by it or by the release's word (`val`); any other is refused."""
    check_choice("split", split, (*SPLITS, *SPLIT_ALIASES))
    return aliased_split(split)


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
        """Fold in what was passed over apart: by another process (a worker over the same
        source), or in reading a task ahead of its turn."""
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


def no_such_categories(unknown: list[str], known: list[str]) -> str:
    """Which names are not categories, the nearest category to each, and every category."""
    named = []
    for name in unknown:
        nearest = difflib.get_close_matches(name, known, n=1)
        named.append(f"{name!r}" + (f" (did you mean {nearest[0]!r}?)" if nearest else ""))
    return f"no such categories: {', '.join(named)}; the categories are {', '.join(known)}"


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
        # Sorted (each store lists them so): looked up by bisection, without a set beside them.
        self._names = store.names()
        self.layout = detect_layout(self._names, label)
        self._photos = self._index_photos(self._names)
        self.shared_image_ids = _shared_image_ids(self._photos)
        self._refuse_name_clashes()
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
        return (_reopened, (location, token, self.on_invalid))

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
            problem = unsafe_name(category, "category")
            key = "category" if problem else "image id"
            problem = problem or unsafe_name(stem)
            if problem:
                self.tolerate(DataError(name, problem, key=key))
            else:
                photos[category][stem] = name
        return self._without_folded_twins(dict(photos))

    def _without_folded_twins(self, photos: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        """Refuse a category equal to another after case folding and NFC normalisation: macOS
        and Windows file systems would merge their folders (the later one is skipped)."""
        first: dict[str, str] = {}
        for category in sorted(photos):
            twin = first.setdefault(folded(category), category)
            if twin != category:
                member = min(photos.pop(category).values())
                self.tolerate(
                    DataError(
                        member,
                        f"the category {category!r} is the category {twin!r} on case-insensitive "
                        "file systems (equal after case folding and NFC normalisation)",
                        key="category",
                    )
                )
        return photos

    def _refuse_name_clashes(self) -> None:
        """Refuse a photo whose examples would be named like another's, as the photo
        `aeroplane_n02691156_87` is like the qualified name of `n02691156_87` when two categories
        hold that one: they would write one file for two objects. Compared case folded, as file
        systems that ignore case do; the later photo is refused, naming both members. The
        qualified names stay those of the whole archive, so refusing one changes no other name."""
        first: dict[str, str] = {}
        for category in sorted(self._photos):
            photos = self._photos[category]
            for image_id in sorted(photos):
                shared = category if image_id in self.shared_image_ids else None
                stem = example_stem(image_id, shared)
                twin = first.setdefault(folded(stem), photos[image_id])
                if twin != photos[image_id]:
                    member = photos.pop(image_id)
                    self.tolerate(
                        DataError(
                            member,
                            f"its examples would be named {stem}_NN like those of {twin}; "
                            "rename one photo",
                            key="image id",
                        )
                    )

    def categories(self) -> list[str]:
        return sorted(self._photos)

    def image_ids(self, split: str, categories: list[str] | None = None) -> list[tuple[str, str]]:
        """The (category, image_id) pairs of a split (`val` is validation), sorted, from the
        official lists."""
        split = split_name(split)
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

    def check_categories(self, categories: Sequence[str] | None) -> None:
        """Refuse names that are not categories of this source, before any work starts."""
        self._chosen(None if categories is None else list(categories))

    def _chosen(self, categories: list[str] | None) -> list[str]:
        if categories is None:
            return self.categories()
        unknown = sorted(set(categories) - set(self._photos))
        if unknown:
            raise ValueError(f"{self.label}: {no_such_categories(unknown, self.categories())}")
        return sorted(set(categories))

    def _listed(self, category: str, split: str) -> list[tuple[str, str]]:
        member = self.layout.split_list(category, split)
        if not self._has(member):
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
        if not self._has(member):
            return None
        if self._last_array[0] != member:
            data = self.store.read(member, MAX_ANNOTATION_BYTES)
            self._last_array = (member, load_npz_array(data, member))
        return self._last_array[1]

    def tolerate(self, error: DataError) -> None:
        """Raise a data error, or note it and go on when the source was opened to skip them."""
        self.invalid.tolerate(error, self.on_invalid)

    def _has(self, member: str) -> bool:
        index = bisect.bisect_left(self._names, member)
        return index < len(self._names) and self._names[index] == member

    def _names_under(self, folder: str) -> list[str]:
        """The member names that start with `folder`, found by bisection in the sorted names."""
        start = bisect.bisect_left(self._names, folder)
        end = bisect.bisect_right(
            self._names, folder, lo=start, key=lambda name: name[: len(folder)]
        )
        return self._names[start:end]

    def cad_indices(self, category: str) -> list[int]:
        """The numbers of the category's meshes; a file numbered beyond what the `cad_index`
        column holds is refused (skipped under `on_invalid="skip"`), named."""
        folder = self.layout.cad(category, 0).rpartition("/")[0] + "/"
        indices = []
        for name in self._names_under(folder):
            stem = name[len(folder) :].removesuffix(".off")
            if not (stem.isascii() and stem.isdigit() and name.endswith(".off")):
                continue
            if len(stem) > len(str(MAX_CAD_INDEX)) or int(stem) > MAX_CAD_INDEX:
                problem = f"mesh number {described(stem)} is beyond any cad_index ({MAX_CAD_INDEX})"
                self.tolerate(DataError(name, problem))
            elif self.cad_member(category, int(stem)) == name:
                indices.append(int(stem))
        return sorted(indices)

    def cad_member(self, category: str, cad_index: int) -> str:
        return self.layout.cad(category, cad_index)

    def cad_bytes(self, category: str, cad_index: int) -> bytes:
        member = self.cad_member(category, cad_index)
        if not self._has(member):
            raise DataError(member, f"no CAD mesh {cad_index} for {category} in {self.label}")
        return self.store.read(member, MAX_MESH_BYTES)


def _shared_image_ids(photos: dict[str, dict[str, str]]) -> frozenset[str]:
    """Image ids whose photo more than one category holds: their example names need the category."""
    counts = Counter(image_id for ids in photos.values() for image_id in ids)
    return frozenset(image_id for image_id, count in counts.items() if count > 1)


def _reopened(location: Any, token: Any, on_invalid: OnInvalid) -> Source:
    """A source opened again in another process, with an empty log: what opening it skipped,
    the process that opened it first has counted already."""
    source = open_source(location, token, on_invalid)
    source.invalid = InvalidLog()
    return source


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
