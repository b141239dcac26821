"""The `imagenet3d` command line: one subcommand per job, each a thin call into the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from converter.draw import STYLES
from converter.errors import AccessError, DataError, SourceError
from converter.geometry import DEFAULT_STATUSES, MODES, CanvasOptions
from converter.records import STATUSES
from converter.release import DEFAULT_SOURCE
from converter.source import SPLITS, Source, open_source


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        help=f"folder, .zip, https:// or hf:// URL, or 'sample' (the built-in generated archive); "
        f"the release is {DEFAULT_SOURCE}",
    )
    parser.add_argument("--token", help="Hub token for the gated release (default: your login)")
    parser.add_argument(
        "--on-invalid",
        choices=("raise", "skip"),
        default="raise",
        help="stop at the first invalid record (default) or skip it and report the count at the end",
    )


def _open(args: argparse.Namespace) -> Source:
    return open_source(args.source, token=args.token, on_invalid=args.on_invalid)


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
    from converter.summary import summarize

    source = _open(args)
    print("\n".join(summarize(source).lines()))
    _report_invalid(source)
    return 0


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
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--height", type=int, default=640, help="canvas height (default 640)")
    parser.add_argument("--width", type=int, default=800, help="canvas width (default 800)")
    parser.add_argument(
        "--target-distance", type=float, default=4.0, help="pose3d distance (default 4.0)"
    )
    parser.add_argument(
        "--statuses", nargs="+", choices=STATUSES, default=DEFAULT_STATUSES, help="kept statuses"
    )
    parser.add_argument(
        "--splits", nargs="+", choices=("train", "val", "validation"), default=list(SPLITS)
    )
    parser.add_argument("--categories", nargs="+", help="default: every category")
    parser.add_argument("--num-proc", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    parser.set_defaults(run=_run_preprocess)


def _run_preprocess(args: argparse.Namespace) -> int:
    from converter.preprocess import OutputMismatch, preprocess

    try:
        options = CanvasOptions(args.height, args.width, args.target_distance, tuple(args.statuses))
        source = _open(args)
        report = preprocess(
            source,
            args.out,
            args.mode,
            options,
            args.splits,
            args.categories,
            args.num_proc,
            args.quality,
        )
    except (OutputMismatch, ValueError) as error:
        print(f"imagenet3d preprocess: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    _report_invalid(source)
    return 0


def _add_visualize(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "visualize",
        help="draw boxes and posed CAD meshes over chosen examples",
        description="Write one overlay PNG per chosen example and one contact sheet per category "
        "under OUT; the same seed chooses the same examples.",
    )
    _source_arguments(parser)
    parser.add_argument("out", help="folder for the PNGs")
    parser.add_argument("--config", choices=("raw", *MODES), default="raw", help="default raw")
    parser.add_argument("--split", choices=SPLITS, default="train", help="default train")
    parser.add_argument("--per-category", type=int, default=4, help="examples each (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    parser.add_argument("--style", choices=STYLES, default="wireframe", help="default wireframe")
    parser.set_defaults(run=_run_visualize)


def _run_visualize(args: argparse.Namespace) -> int:
    from converter.visualize import visualize

    source = _open(args)
    try:
        written = visualize(
            source,
            args.out,
            config=args.config,
            per_category=args.per_category,
            seed=args.seed,
            split=args.split,
            style=args.style,
        )
    except ValueError as error:
        print(f"imagenet3d visualize: {error}", file=sys.stderr)
        return 1
    print(f"{len(written)} PNGs written under {args.out}")
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
    parser.add_argument("--token", help="Hub token for the gated release (default: your login)")
    parser.add_argument("--split", choices=SPLITS, default="validation", help="default validation")
    parser.add_argument(
        "--config",
        choices=MODES,
        default="pose3d",
        help="pose configuration the names come from; both keep the same objects and angles",
    )
    parser.add_argument("--json", metavar="OUT.json", help="also write the figures as JSON")
    parser.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from converter.metrics import (
        evaluate,
        format_report,
        ground_truth,
        read_predictions,
        write_report,
    )

    report = evaluate(
        read_predictions(args.predictions),
        ground_truth(open_source(args.source, token=args.token), args.split),
    )
    print("\n".join(format_report(report)))
    if args.json:
        write_report(report, args.json)
    return 0


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_sample,
    _add_inspect,
    _add_preprocess,
    _add_visualize,
    _add_evaluate,
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
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DataError, SourceError, AccessError) as error:
        print(f"imagenet3d {args.command}: {error}", file=sys.stderr)
        return 1
