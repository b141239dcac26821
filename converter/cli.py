"""The `imagenet3d` command line: one subcommand per job, each a thin call into the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from converter.errors import AccessError, DataError, SourceError
from converter.release import DEFAULT_SOURCE
from converter.source import Source, open_source


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


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_sample, _add_inspect]


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
