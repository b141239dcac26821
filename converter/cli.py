"""The `imagenet3d` command line: one subcommand per job, each a thin call into the library."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from converter.core.errors import AccessError, NetworkError
from converter.core.release import DEFAULT_SOURCE
from converter.look.draw import STYLES
from converter.outputs.preprocess import LAYOUTS
from converter.outputs.schema import CONFIGS, IMAGE_CONFIGS
from converter.pose.canvas import DEFAULT_QUALITY
from converter.pose.geometry import DEFAULT_STATUSES, MODES, CanvasOptions
from converter.read.records import STATUSES
from converter.read.remote import MIRROR_HEADERS
from converter.read.source import SPLIT_ALIASES, SPLITS, Source
from converter.sample import open_release

TOKEN_HELP = (
    "Hub token for the gated release (default: your login); sent only to the Hub, never to "
    f"another server (a private mirror's credentials go in {MIRROR_HEADERS})"
)


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        help=f"folder, .zip, https:// or hf:// URL, or 'sample' (the built-in generated archive); "
        f"the release is {DEFAULT_SOURCE}",
    )
    parser.add_argument("--token", help=TOKEN_HELP)
    parser.add_argument(
        "--on-invalid",
        choices=("raise", "skip"),
        default="raise",
        help="stop at the first invalid record (default) or skip it and report the count at the end",
    )


def _open(args: argparse.Namespace) -> Source:
    return open_release(args.source, token=args.token, on_invalid=args.on_invalid)


def _report_invalid(source: Source) -> None:
    if source.invalid.count:
        print(source.invalid.summary(), file=sys.stderr)


def _add_sample(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sample",
        help="write the small generated sample archive",
        description="Write a small deterministic archive in the release's v1 layout, with its "
        "quirks (grayscale and CMYK photos, objects without pose, every status, CAD meshes).",
    )
    parser.add_argument("out", help="the .zip to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(run=_run_sample)


def _run_sample(args: argparse.Namespace) -> int:
    from converter.sample import write_sample

    print(write_sample(args.out, seed=args.seed))
    return 0


def _add_inspect(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "inspect",
        help="print the layout and counts of a source",
        description="Print the layout found, the categories, photos and objects per split, the "
        "status histogram and the number of objects without pose.",
    )
    _source_arguments(parser)
    parser.set_defaults(run=_run_inspect)


def _run_inspect(args: argparse.Namespace) -> int:
    from converter.look.summary import summarize

    source = _open(args)
    print("\n".join(summarize(source).lines()))
    _report_invalid(source)
    return 0


def _add_visualize(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "visualize",
        help="draw boxes and posed CAD meshes over chosen examples",
        description="Write one overlay PNG per chosen example and one contact sheet per category "
        "under OUT; the same seed chooses the same examples. SOURCE may also be a folder written "
        "by `export` or the Hub dataset it was pushed to (owner/name): rows and CAD meshes are "
        "then read from its Parquet, and the overlays are the same as from the release.",
    )
    _source_arguments(parser)
    parser.add_argument("out", help="folder for the PNGs")
    parser.add_argument("--config", choices=IMAGE_CONFIGS, default="raw", help="default raw")
    parser.add_argument("--split", choices=SPLITS, default="train", help="default train")
    parser.add_argument("--per-category", type=int, default=4, help="examples each (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    parser.add_argument("--style", choices=STYLES, default="wireframe", help="default wireframe")
    parser.set_defaults(run=_run_visualize)


def _run_visualize(args: argparse.Namespace) -> int:
    from converter.look.visualize import is_export, visualize

    source = args.source if is_export(args.source) else _open(args)
    written = visualize(
        source,
        args.out,
        config=args.config,
        per_category=args.per_category,
        seed=args.seed,
        split=args.split,
        style=args.style,
        token=args.token,
    )
    print(f"{len(written)} PNGs written under {args.out}")
    if isinstance(source, Source):
        _report_invalid(source)
    return 0


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="score predicted viewpoints against the annotations",
        description="Score a JSON-lines file of {name, azimuth, elevation, theta} (radians) "
        "against a split's pose examples: accuracy at pi/6 and pi/18 and the median error, "
        "overall and per category. Examples without a prediction count as wrong.",
    )
    parser.add_argument("predictions", help="the JSON-lines predictions file")
    parser.add_argument("--source", help=f"where the annotations are (default {DEFAULT_SOURCE})")
    parser.add_argument("--token", help=TOKEN_HELP)
    parser.add_argument("--split", choices=SPLITS, default="validation", help="default validation")
    parser.add_argument("--json", metavar="OUT.json", help="also write the figures as JSON")
    parser.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from converter.look.metrics import (
        evaluate,
        format_report,
        ground_truth,
        read_predictions,
        write_report,
    )

    report = evaluate(
        read_predictions(args.predictions),
        ground_truth(open_release(args.source, token=args.token), args.split),
    )
    print("\n".join(format_report(report)))
    if args.json:
        write_report(report, args.json)
    return 0


def _canvas_arguments(parser: argparse.ArgumentParser) -> None:
    """The pose configurations' options, named as the builder's config keywords."""
    defaults = CanvasOptions()
    parser.add_argument(
        "--height",
        type=int,
        default=defaults.height,
        help=f"canvas height (default {defaults.height})",
    )
    parser.add_argument(
        "--width", type=int, default=defaults.width, help=f"canvas width (default {defaults.width})"
    )
    parser.add_argument(
        "--target-distance",
        type=float,
        default=defaults.target_distance,
        help=f"pose3d distance (default {defaults.target_distance})",
    )
    parser.add_argument(
        "--statuses", nargs="+", choices=STATUSES, default=DEFAULT_STATUSES, help="kept statuses"
    )
    parser.add_argument("--categories", nargs="+", help="default: every category")
    parser.add_argument("--num-proc", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--quality",
        type=int,
        default=DEFAULT_QUALITY,
        help=f"JPEG quality (default {DEFAULT_QUALITY})",
    )


def _canvas(args: argparse.Namespace) -> CanvasOptions:
    return CanvasOptions(args.height, args.width, args.target_distance, tuple(args.statuses))


def _add_preprocess(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "preprocess",
        help="write the public tool's pose3d/pose6d folder",
        description="Put every kept object on an H x W canvas (SPEC 4) and write images/, "
        "annotations/ and lists/ under OUT as the public preprocessing does. Rerun over the same "
        "OUT to finish an interrupted run; finished photos are skipped.",
    )
    _source_arguments(parser)
    parser.add_argument("out", help="the output folder")
    parser.add_argument(
        "--mode",
        choices=MODES,
        required=True,
        help="pose3d (object-centric) or pose6d (whole photo)",
    )
    parser.add_argument(
        "--splits", nargs="+", choices=(*SPLITS, *SPLIT_ALIASES), default=list(SPLITS)
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="public",
        help="public: images/<category>_<split>/... as the public tool writes; experiment: "
        "<split>/images/<category>/... as the authors' experiment code reads (default public)",
    )
    _canvas_arguments(parser)
    parser.set_defaults(run=_run_preprocess)


def _run_preprocess(args: argparse.Namespace) -> int:
    from converter.outputs.preprocess import preprocess

    source = _open(args)
    report = preprocess(
        source,
        args.out,
        args.mode,
        _canvas(args),
        args.splits,
        args.categories,
        args.num_proc,
        args.quality,
        layout=args.layout,
    )
    print(report.summary())
    _report_invalid(source)
    return 0


def _add_export(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export",
        help="write configurations as Parquet shards with a dataset card",
        description="Write OUT/<config>/<split>-NNNNN-of-NNNNN.parquet, each configuration's "
        "options and source in OUT/<config>/export.json, and the card OUT/README.md, ready for "
        "`load_dataset(OUT, config)` and for `imagenet3d push`. Rerun over the same OUT to "
        "finish an interrupted export; configurations built with the same options and source "
        "are kept. A split without examples is left out (datasets cannot load it).",
    )
    _source_arguments(parser)
    parser.add_argument("out", help="the output folder")
    parser.add_argument("--config", choices=(*CONFIGS, "all"), default="all", help="default all")
    parser.add_argument(
        "--max-shard-size", default="500MB", help="shard size bound (default 500MB)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="rebuild configurations of OUT made with other options or from another source",
    )
    _canvas_arguments(parser)
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from converter.outputs.export import ExportOptions, export

    options = ExportOptions(
        config_kwargs={
            **asdict(_canvas(args)),
            "categories": tuple(args.categories) if args.categories else None,
            "jpeg_quality": args.quality,
        },
        max_shard_size=args.max_shard_size,
        num_proc=args.num_proc if args.num_proc > 1 else None,
        token=args.token,
    )
    configs = CONFIGS if args.config == "all" else (args.config,)
    source = _open(args)
    infos = export(source, Path(args.out), configs, options, overwrite=args.overwrite)
    for config, info in infos.items():
        counts = ", ".join(
            f"{split} {split_info.num_examples}" for split, split_info in info.splits.items()
        )
        print(f"{config}: {counts} examples")
    print(f"card: {Path(args.out) / 'README.md'}")
    _report_invalid(source)
    return 0


def _add_push(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "push",
        help="upload an export folder to a Hub dataset repository",
        description="Check that FOLDER is a complete export, then upload its shards and a card "
        "naming the repository in one commit (unchanged files are skipped, so pushing an "
        "unchanged folder creates no commit). No loading script is uploaded: the Parquet loads "
        "with plain datasets, 3.x and 4+ alike.",
    )
    parser.add_argument("folder", help="a folder written by `imagenet3d export`")
    parser.add_argument("--repo-id", required=True, help="e.g. ccvl/ImageNet3D")
    parser.add_argument("--token", help="Hub token with write access (default: your login)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--revision", help="branch to push to (created if missing)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead")
    parser.set_defaults(run=_run_push)


def _run_push(args: argparse.Namespace) -> int:
    from converter.outputs.hub import push

    info = push(
        Path(args.folder),
        args.repo_id,
        token=args.token,
        private=args.private or None,
        revision=args.revision,
        create_pr=args.create_pr,
    )
    print(info.pr_url or info.commit_url)
    return 0


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_sample,
    _add_inspect,
    _add_visualize,
    _add_evaluate,
    _add_preprocess,
    _add_export,
    _add_push,
]


def build_parser() -> argparse.ArgumentParser:
    """Each `_add_<command>` declares its arguments and sets `run`, the function that does it."""
    parser = argparse.ArgumentParser(
        prog="imagenet3d",
        description="Read, convert, check and publish the ImageNet3D release.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input (data errors, files, options, access) is one line on stderr.

    Ctrl-C is one line and the shell's status for it (130); a reader that stops early
    (`imagenet3d inspect ... | head`) ends the run quietly, as it would any Unix tool.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"imagenet3d {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except (ValueError, OSError, AccessError, NetworkError) as error:
        print(f"imagenet3d {args.command}: {error}", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit does not raise the broken pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
