"""The public tool's output folder, written so that a crash never leaves a wrong file behind.

Layout (docs/format.md, 'The public tool's folder'): `images/<category>_<split>/<name>.JPEG`,
`annotations/<category>_<split>/<name>.npz` (plain arrays, no pickle needed) and
`lists/<category>_<split>/mesh01.txt`, with `<split>` `train` or `val`; or the authors'
experiment code's layout, `<split>/{images,annotations,lists}/<category>/`. Lists keep the order
of the release's split lists, and the annotation values the public tool copies keep the types
the release stores them in. Every file goes to a temporary name first and is renamed into
place; a category's list is written after all its examples. The run's settings and a digest of
its source are stamped in `preprocess.json`, so a rerun over the same folder skips the photos
already done and produces the same bytes, while a rerun with other settings or from another
source is refused instead of mixing outputs. One run at a time works on a folder (the lock
`.preprocess.lock`), and each first removes the temporary files a killed run left.
"""

from __future__ import annotations

import collections
import copy
import functools
import io
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from filelock import FileLock

from converter.core.ahead import ahead
from converter.core.errors import DataError, check_choice
from converter.core.files import remove_temporaries, write_atomic
from converter.core.progress import progress_bar
from converter.core.stored_zip import stored_zip
from converter.core.workers import become_worker, threads_per_process
from converter.outputs.examples import (
    Canvases,
    Pair,
    Report,
    draw_canvases,
    object_name,
    pose_examples,
    select_objects,
)
from converter.pose.canvas import resample_on_one_thread
from converter.pose.geometry import MODES, Mode
from converter.pose.options import PoseOptions
from converter.read.source import RELEASE_SPLITS, SPLITS, InvalidLog, Source, split_name

STAMP = "preprocess.json"
LOCK = ".preprocess.lock"
KINDS = ("images", "annotations", "lists")
PHOTOS_PER_TASK = 32
FolderLayout = Literal["public", "experiment"]
LAYOUTS: tuple[FolderLayout, ...] = ("public", "experiment")
# Each layout's authors' options where they differ from PoseOptions' defaults: the public tool's
# kept rule, and the experiment code's rule and 512 x 512 canvas (docs/format.md, 'The kept rule').
LAYOUT_OPTIONS: dict[str, dict[str, Any]] = {
    "public": {"kept_rule": "public"},
    "experiment": {"kept_rule": "experiment", "height": 512, "width": 512},
}
# Values the public tool copies from the release through np.savez, so their npz type is the
# release's: our key -> the release's key.
COPIED_KEYS = {
    "azimuth": "azimuth",
    "elevation": "elevation",
    "theta": "theta",
    "focal": "focal",
    "viewport": "viewport",
    "cad_index": "cad_index",
    "bbox_original": "bbox",
    "principal_original": "principal",
    "px_original": "px",
    "py_original": "py",
    "distance_original": "distance",
}


class OutputMismatch(FileExistsError):
    """OUT already holds output made with other settings."""


def layout_options(layout: FolderLayout, **given: Any) -> PoseOptions:
    """The options of `layout`'s authors, with those `given` in their place."""
    check_choice("layout", layout, LAYOUTS)
    return PoseOptions(**{**LAYOUT_OPTIONS[layout], **given})


@dataclass(frozen=True)
class Job:
    """What one run makes: everything that decides the bytes of its files."""

    mode: Mode
    options: PoseOptions
    layout: FolderLayout = "public"

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, MODES)
        check_choice("layout", self.layout, LAYOUTS)

    def stamp(self, source: str) -> bytes:
        """The settings and `source`, the digest of what the source holds, as stamped in OUT.

        Categories are left out: they choose which photos are written, not what their files hold.
        """
        settings = {"mode": self.mode, "layout": self.layout, **self.options.values()}
        settings["statuses"] = self.options.kept_statuses
        del settings["categories"]
        settings["source"] = source
        return (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class Task:
    """A slice of one category's photos of one split: the unit a worker process takes."""

    split: str
    category: str
    pairs: tuple[Pair, ...]

    @property
    def listing(self) -> tuple[str, str]:
        """The list file this task's names go to: its split and category."""
        return self.split, self.category

    def folder(self, out: Path, kind: str, layout: FolderLayout) -> Path:
        """Where this task's `kind` (images, annotations or lists) go in `layout`."""
        split = RELEASE_SPLITS[self.split]
        if layout == "experiment":
            return out / split / kind / self.category
        return out / kind / f"{self.category}_{split}"


def plain_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An `.npz` as `np.savez` writes it (members stored, not compressed), with fixed timestamps
    so that reruns give equal bytes. Compressing each of its thirty small members took three
    times as long as storing them all, to save 2 kB of a 60 kB object.

    Every file holds the same keys, so each `.npy` header is made once per type and shape: half
    the time of `np.lib.format.write_array` per member, for the same bytes.
    """
    for key, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(f"{key}: {array.dtype} is not a plain array")
    return stored_zip(
        (f"{key}.npy", _npy_header(array.dtype, array.shape) + array.tobytes())
        for key, array in arrays.items()
    )


@functools.lru_cache(maxsize=1024)
def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def release_types(raw: Any) -> dict[str, np.dtype]:
    """The numeric types the release stores the copied values in (a float `viewport`, say)."""
    if not isinstance(raw, dict):
        return {}
    found = {key: np.asarray(raw.get(release_key)) for key, release_key in COPIED_KEYS.items()}
    return {key: array.dtype for key, array in found.items() if array.dtype.kind in "iuf"}


def annotation_arrays(
    example: dict[str, Any], types: dict[str, np.dtype] | None = None
) -> dict[str, np.ndarray]:
    """The example's fields as plain arrays; the category is `class` as the public tool names it,
    and a value the public tool copies from the release keeps the release's type (`types`).

    A missing value has no array: the npz format has no null, and a made-up number would lie.
    """
    types = types or {}
    renamed = {("class" if key == "category" else key): value for key, value in example.items()}
    return {
        key: np.asarray(value, dtype=types.get(key))
        for key, value in renamed.items()
        if key != "image" and value is not None
    }


@dataclass(frozen=True)
class Selected:
    """A photo of a task: the objects it keeps, their names, and its annotation array as stored
    (for the value types the public tool copies; None when it keeps nothing)."""

    category: str
    image_id: str
    kept: list[dict[str, Any]]
    names: list[str]
    raw: Any


@dataclass(frozen=True)
class Started:
    """A task whose photos' annotations are read: where its files go, the names of every
    example its photos make (in their order), the photos still to write, and what reading them
    passed over (`invalid`) or the error that stopped it, both handed on in the task's turn."""

    folders: tuple[str, str]
    report: Report
    names: list[str]
    todo: list[Selected]
    invalid: InvalidLog
    error: Exception | None = None


def run_tasks(
    source: Source, out: Path, job: Job, tasks: Iterable[Task], threads: int = 1
) -> Iterator[tuple[Report, list[str]]]:
    """Write the examples of the tasks' photos, skipping photos whose files are all there; each
    task's report and names once its files are written.

    The photos are drawn on `threads` threads (`converter.core.ahead`), this one among them when a
    photo it wants is not drawn yet, while this thread reads what comes next: a task's annotations
    all at once, then its photos one by one, so the next task's annotations are read while the last
    photos of the one before are drawn. Read between tasks, they left both drawing threads idle
    0.6 s of a 4.2 s run; read ahead, one process on two CPUs took 4 to 10% less wall time (pose6d)
    and 1 to 3% (pose3d), for CPU times within 4% (two sets of interleaved rounds, 14 a mode).
    Drawing is nearly all C that lets go of Python's lock, the rest nearly all Python. Here the
    photos' files are made in their order, with their errors, and written together once a task's
    photos are done, also when a photo's error stops the run: written one after another, files find
    the processor's caches warm from the file before (an object's two files took this thread 85 to
    99 us of CPU, against 157 to 177 us written between photos). A task's two folders are made and
    listed once: past that, a photo costs no file-system call but the writing of its files.
    """
    draw = _drawer(source, job)
    files: collections.deque[tuple[str, bytes]] = collections.deque()
    current: Started | None = None
    try:
        for item, drawn in ahead(_photos(source, out, job, tasks), draw, threads):
            if isinstance(item, Started):
                if current is not None:
                    _write(files)
                    yield current.report, current.names
                current = _begun(source, item)
                continue
            assert current is not None
            try:
                files.extend(_files(source, job, current.folders, item[0], drawn.result()))
            except DataError as error:
                source.tolerate(error)
        if current is not None:
            _write(files)
            yield current.report, current.names
    finally:
        _write(files)


def _photos(
    source: Source, out: Path, job: Job, tasks: Iterable[Task]
) -> Iterator[Started | PhotoBytes]:
    """Each task started, then the photos it has to write, with their bytes."""
    for task in tasks:
        started = _start(source, out, job, task)
        yield started
        yield from _with_bytes(source, started.todo)


def _start(source: Source, out: Path, job: Job, task: Task) -> Started:
    """Read a task's annotations and list its folders, keeping apart what this passes over
    or the error that stops it: read ahead of its turn, the task must not log before the
    photos of the task before it."""
    report = Report()
    folders = (
        os.fspath(task.folder(out, "images", job.layout)),
        os.fspath(task.folder(out, "annotations", job.layout)),
    )
    run_log, source.invalid = source.invalid, InvalidLog()
    try:
        done = _written(folders[0], ".JPEG") & _written(folders[1], ".npz")
        selected = [_select(source, *pair, job, report) for pair in task.pairs]
        error = None
    except Exception as stopped:  # raised in the task's turn, after the photos before it
        done, selected, error = set(), [], stopped
    finally:
        task_log, source.invalid = source.invalid, run_log
    names = [name for photo in selected for name in photo.names]
    todo = [photo for photo in selected if photo.kept and not done.issuperset(photo.names)]
    return Started(folders, report, names, todo, task_log, error)


def _begun(source: Source, started: Started) -> Started:
    """A started task in its turn: what reading it passed over logged, its error raised."""
    source.invalid.merge(started.invalid)
    if started.error is not None:
        raise started.error
    return started


def _write(files: collections.deque[tuple[str, bytes]]) -> None:
    """Write the files made, each once, forgetting each as it is written."""
    while files:
        path, data = files.popleft()
        write_atomic(path, data, make_folder=False)


def _select(source: Source, category: str, image_id: str, job: Job, report: Report) -> Selected:
    kept = select_objects(source, category, image_id, job.options, report)
    names = [object_name(source, category, image_id, record["index"]) for record in kept]
    raw = source.annotation_array(category, image_id) if kept else None
    return Selected(category, image_id, kept, names, raw)


PhotoBytes = tuple[Selected, bytes | DataError]


def _with_bytes(source: Source, todo: list[Selected]) -> Iterator[PhotoBytes]:
    """Each photo with its bytes, read in this thread as the drawing threads take them (a zip's
    file handle is shared), or with the error reading them gave, raised where it is drawn."""
    for photo in todo:
        try:
            yield photo, source.photo_bytes(photo.category, photo.image_id)
        except DataError as error:
            yield photo, error


def _drawer(source: Source, job: Job) -> Callable[[Started | PhotoBytes], Canvases | None]:
    """What draws a photo's canvases from its bytes, on any thread; a task's start draws
    nothing."""

    def draw(item: Started | PhotoBytes) -> Canvases | None:
        if isinstance(item, Started):
            return None
        photo, data = item
        if isinstance(data, DataError):
            raise data
        member = source.photo_member(photo.category, photo.image_id)
        return draw_canvases(data, member, photo.kept, job.mode, job.options)

    return draw


def _files(
    source: Source, job: Job, folders: tuple[str, str], photo: Selected, canvases: Canvases
) -> Iterator[tuple[str, bytes]]:
    """A drawn photo's files, each as its path and bytes: a JPEG in the images folder and an
    npz in the annotations folder per object (paths joined as strings, in a fraction of a
    `Path`'s time)."""
    images, annotations = folders
    for example in pose_examples(
        source, photo.category, photo.image_id, photo.kept, job.mode, job.options, canvases
    ):
        types = release_types(photo.raw[example["object_index"]])
        name = example["name"]
        yield os.path.join(images, f"{name}.JPEG"), example["image"]["bytes"]
        npz = plain_npz(annotation_arrays(example, types))
        yield os.path.join(annotations, f"{name}.npz"), npz


def _written(folder: str, suffix: str) -> set[str]:
    """The names of the `suffix` files in `folder`, made if missing."""
    os.makedirs(folder, exist_ok=True)
    return {name.removesuffix(suffix) for name in os.listdir(folder) if name.endswith(suffix)}


def _tasks(source: Source, splits: Sequence[str], categories: Sequence[str] | None) -> list[Task]:
    """Every (split, category) cut into slices, in the order their lists are written; a
    category's photos in its split list's order, as the public tool takes them."""
    tasks = []
    for split in splits:
        chosen = source.categories() if categories is None else sorted(set(categories))
        for category in chosen:
            mine = tuple(source.listed_ids(split, category))
            starts = range(0, len(mine), PHOTOS_PER_TASK) if mine else [0]
            tasks.extend(Task(split, category, mine[i : i + PHOTOS_PER_TASK]) for i in starts)
    return tasks


_worker: tuple[Source, Path, Job, int] | None = None


def _start_worker(source: Source, out: Path, job: Job, threads: int) -> None:
    """Reopen the source: a forked worker must not share the main process's file handles."""
    global _worker
    become_worker()
    _worker = (copy.copy(source), out, job, threads)


def _worker_task(task: Task) -> tuple[Report, list[str], InvalidLog]:
    """One task in a worker process, handing back the invalid records it passed over."""
    assert _worker is not None
    source, out, job, threads = _worker
    [(report, names)] = run_tasks(source, out, job, [task], threads)
    invalid, source.invalid = source.invalid, InvalidLog()
    return report, names, invalid


def _pool_context() -> multiprocessing.context.BaseContext:
    """Forked workers on Linux: they start without importing anything again, and ignore Ctrl-C
    from their first instant (see `converter.core.workers`). Elsewhere, fresh interpreters."""
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")


def _results(
    source: Source, out: Path, job: Job, tasks: list[Task], num_proc: int, threads: int
) -> Iterator[tuple[Report, list[str]]]:
    """Task results in task order, from this process or from `num_proc` workers, each drawing
    on `threads` threads."""
    if num_proc <= 1:
        yield from run_tasks(source, out, job, tasks, threads)
        return
    with _pool_context().Pool(num_proc, _start_worker, (source, out, job, threads)) as pool:
        for report, names, invalid in pool.imap(_worker_task, tasks):
            source.invalid.merge(invalid)
            yield report, names


def _check_stamp(out: Path, job: Job, source: Source) -> None:
    """Refuse an OUT made with other settings or from another source, so its old files are
    never taken for new ones."""
    stamp = out / STAMP
    fingerprint = source.store.fingerprint()
    wanted = job.stamp(fingerprint)
    if stamp.exists() and stamp.read_bytes() != wanted:
        if _stamped_source(stamp) != fingerprint:
            raise OutputMismatch(
                f"{out} holds output made from another source than {source.label} ({stamp}); "
                "use an empty folder, or rerun with the source it was made from"
            )
        raise OutputMismatch(
            f"{out} holds output made with other settings ({stamp}); "
            "use an empty folder, or rerun with the settings stamped there"
        )
    write_atomic(stamp, wanted)


def _stamped_source(stamp: Path) -> str | None:
    """The source digest a stamp holds; None for a stamp written before digests, or unreadable."""
    try:
        return json.loads(stamp.read_bytes()).get("source")
    except (ValueError, AttributeError):
        return None


def clear_debris(out: Path, layout: FolderLayout) -> None:
    """Remove the temporary files a killed run left (`.<name>.npz.<hex>.partial`, say): only
    names `converter.core.files` gives them, only in the folders a run of `layout` writes."""
    if layout == "public":
        parents = [out / kind for kind in KINDS]
    else:
        parents = [out / split / kind for split in RELEASE_SPLITS.values() for kind in KINDS]
    folders = [path for parent in parents if parent.is_dir() for path in parent.iterdir()]
    for folder in [out, *folders]:
        remove_temporaries(folder)


def _split_names(splits: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(split_name(split) for split in splits))


def write_listing(out: Path, task: Task, layout: FolderLayout, names: list[str]) -> None:
    """A category's list, with its image and annotation folders even when it kept nothing: both
    authors' scripts make all three, and the experiment code takes its categories from the
    folders of `<split>/images`, so a missing one would shift every category index after it."""
    for kind in ("images", "annotations"):
        task.folder(out, kind, layout).mkdir(parents=True, exist_ok=True)
    write_atomic(task.folder(out, "lists", layout) / "mesh01.txt", "\n".join(names).encode())


def preprocess(
    source: Source,
    out: str | os.PathLike[str],
    mode: Mode,
    options: PoseOptions | None = None,
    *,
    splits: Iterable[str] = SPLITS,
    num_proc: int = 1,
    threads: int | None = None,
    progress: bool = True,
    layout: FolderLayout = "public",
) -> Report:
    """Write the public tool's folder for `mode` into `out` (or the experiment code's, by
    `layout`); rerun it to finish a broken run. Without `options`, the layout's authors' own
    (`layout_options`).

    Each of `num_proc` processes draws photos on `threads` threads; by default the CPUs this
    process may use are shared out among the processes. OpenCV is set to resample on one
    thread for the rest of the process: threads of its own would only wait beside these
    (measured in `bench/preprocess.py`: more CPU time for no shorter run), and in a worker forked
    from a process that used them it could wait for ever.
    """
    resample_on_one_thread()
    threads = threads_per_process(num_proc) if threads is None else threads
    out = Path(out)
    job = Job(mode, options or layout_options(layout), layout)
    tasks = _tasks(source, _split_names(splits), job.options.categories)
    out.mkdir(parents=True, exist_ok=True)
    with FileLock(out / LOCK):
        resumed = (out / STAMP).exists()  # a folder preprocess wrote: its debris is ours
        _check_stamp(out, job, source)
        if resumed:
            clear_debris(out, layout)
        return _run(source, out, job, tasks, (num_proc, threads), progress)


def _run(
    source: Source,
    out: Path,
    job: Job,
    tasks: list[Task],
    workers: tuple[int, int],
    progress: bool,
) -> Report:
    """Write every task's files, and each list once the last task of its category is done."""
    report = Report()
    names: list[str] = []
    photos = sum(len(task.pairs) for task in tasks)
    bar = progress_bar(total=photos, unit="photo", desc=job.mode, disable=not progress)
    with bar:
        results = _results(source, out, job, tasks, *workers)
        for index, (task, (task_report, task_names)) in enumerate(zip(tasks, results, strict=True)):
            report.add(task_report)
            names.extend(task_names)
            bar.update(len(task.pairs))
            bar.set_postfix(kept=report.kept, refresh=False)
            if index + 1 == len(tasks) or tasks[index + 1].listing != task.listing:
                write_listing(out, task, job.layout, names)
                names = []
    return report
