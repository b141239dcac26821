"""The `imagenet3d` command line: one subcommand per job, each a thin call into the library.

Each command imports what it needs when it runs, so that `--help` and the commands that build
no `datasets` objects (`sample`, `inspect`, `preprocess`, `visualize`, `evaluate`) start
without loading `datasets`, pandas, pyarrow or fsspec.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from converter import __version__
from converter.core.errors import AccessError, NetworkError, printable
from converter.core.progress import SWITCH, bars_hidden, bars_switched_off
from converter.core.release import DEFAULT_SOURCE, GATINGS
from converter.core.workers import Stop, stopping, usable_cpus
from converter.look.draw import STYLES, legend
from converter.outputs.configurations import CONFIGS, DEFAULT, IMAGE_CONFIGS
from converter.outputs.export_folder import CARD, STAMP
from converter.outputs.tool_folder import LAYOUT_OPTIONS, LAYOUTS
from converter.pose.geometry import MODES
from converter.pose.options import KEPT_RULES, PoseOptions
from converter.read.remote import MIRROR_HEADERS
from converter.read.source import SPLIT_ALIASES, SPLITS, Source, aliased_split

if TYPE_CHECKING:
    from converter.look.visualize import Export

logger = logging.getLogger("converter")
SOURCE_HELP = (
    "folder, .zip, https:// or hf:// URL, or 'sample': the built-in generated archive, unless a "
    f"file or folder named sample is here, which is read instead; the release is {DEFAULT_SOURCE}"
)

TOKEN_HELP = (
    "Hub token for the gated release (default: your login); sent only to the Hub, never to "
    f"another server (a private mirror's credentials go in {MIRROR_HEADERS})"
)


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help=SOURCE_HELP)
    parser.add_argument("--token", help=TOKEN_HELP)
    _on_invalid_argument(parser)


def _on_invalid_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-invalid",
        choices=("raise", "skip"),
        default="raise",
        help="stop at the first invalid record (default) or skip it and report the count at the end",
    )


def _open(args: argparse.Namespace) -> Source:
    from converter.outputs.sources import open_release

    source = open_release(args.source, token=args.token, on_invalid=args.on_invalid)
    logger.debug("reading %s (%s layout)", source.label, source.layout.kind)
    return source


def _split_argument(parser: argparse.ArgumentParser, default: str) -> None:
    """`--split`, taking the release's word `val` for validation as every command does."""
    parser.add_argument(
        "--split",
        type=aliased_split,
        choices=SPLITS,
        default=default,
        help=f"train or validation (or val); default {default}",
    )


def _report_invalid(source: Source | Export) -> None:
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
        f"then read from its Parquet, and the overlays are the same as from the release. {legend()}",
    )
    _source_arguments(parser)
    parser.add_argument("out", help="folder for the PNGs")
    parser.add_argument(
        "--config", choices=IMAGE_CONFIGS, default=DEFAULT, help=f"default {DEFAULT}"
    )
    _split_argument(parser, "train")
    parser.add_argument("--per-category", type=int, default=4, help="examples each (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    parser.add_argument("--style", choices=STYLES, default="wireframe", help="default wireframe")
    parser.set_defaults(run=_run_visualize)


def _run_visualize(args: argparse.Namespace) -> int:
    from converter.look.exports import is_export
    from converter.look.visualize import Export, visualize

    if is_export(args.source):
        source = Export(args.source, args.config, args.split, args.token, args.on_invalid)
    else:
        source = _open(args)
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
    parser.add_argument(
        "--source",
        help=f"where the annotations are: {SOURCE_HELP}; or a folder written by `export`, or "
        "the Hub dataset it was pushed to (owner/name or hf://datasets/owner/name), scored "
        "against its pose configuration's rows",
    )
    parser.add_argument("--token", help=TOKEN_HELP)
    _split_argument(parser, "validation")
    parser.add_argument(
        "--kept-rule",
        choices=tuple(KEPT_RULES),
        help="which objects of the release are scored (docs/format.md, 'The kept rule'); "
        "experiment scores the experiment code's set (default project; an export's rows are "
        "scored as exported)",
    )
    parser.add_argument(
        "--known-categories",
        metavar="FILE",
        help="categories a model was trained on, one a line: figures for known, unknown and all",
    )
    parser.add_argument(
        "--meta-classes",
        metavar="FILE",
        help="JSON object of meta-class -> category names: figures per meta-class",
    )
    parser.add_argument("--json", metavar="OUT.json", help="also write the figures as JSON")
    _on_invalid_argument(parser)
    parser.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from converter.look.exports import is_export
    from converter.look.metrics import (
        check_matches,
        evaluate,
        exported_ground_truth,
        format_report,
        ground_truth,
        read_known_categories,
        read_meta_classes,
        read_predictions,
        write_report,
    )

    predictions = read_predictions(args.predictions)
    known = read_known_categories(args.known_categories) if args.known_categories else None
    meta_classes = read_meta_classes(args.meta_classes) if args.meta_classes else None
    source = None
    if args.source is not None and is_export(args.source):
        _refuse_kept_rule(args)
        truth = exported_ground_truth(args.source, args.split, args.token)
    else:
        source = _open(args)
        options = PoseOptions(kept_rule=args.kept_rule or "project")
        truth = ground_truth(source, args.split, options)
    check_matches(predictions, truth, args.split)
    scores = evaluate(predictions, truth, known, meta_classes)
    print("\n".join(format_report(scores)))
    if args.json:
        write_report(scores, args.json)
    if source is not None:
        _report_invalid(source)
    return 0


def _refuse_kept_rule(args: argparse.Namespace) -> None:
    """An export's rows were chosen when it was built: a rule asked for could not apply."""
    if args.kept_rule is not None:
        raise ValueError(
            f"{args.source} is an export: its rows are scored as they were exported, and "
            "--kept-rule chooses among the release's objects only"
        )


def option_flag(name: str) -> str:
    """The command-line flag of a `PoseOptions` field: `jpeg_quality` is `--jpeg-quality`."""
    return "--" + name.replace("_", "-")


def _shown(default: object) -> str:
    return " ".join(default) if isinstance(default, tuple) else str(default)


def _pose_arguments(parser: argparse.ArgumentParser, title: str = "") -> None:
    """One flag per field of `PoseOptions`, the builder config's keywords, with its defaults.

    A flag not given is None, so that a command can fill in defaults of its own (`preprocess`
    takes each layout's authors').
    """
    group = parser.add_argument_group(f"pose options (pose3d and pose6d){title}")
    for option in fields(PoseOptions):
        meta = option.metadata
        shown = "" if option.default is None else f" (default {_shown(option.default)})"
        group.add_argument(
            option_flag(option.name),
            dest=option.name,
            type=str if "nargs" in meta or "choices" in meta else type(option.default),
            nargs=meta.get("nargs"),
            choices=meta.get("choices"),
            metavar=meta.get("metavar"),
            help=meta["help"] + shown,
        )


def _given_options(args: argparse.Namespace) -> dict[str, object]:
    """The pose options the flags name; the others are left to the command's defaults."""
    given = {option.name: getattr(args, option.name) for option in fields(PoseOptions)}
    return {name: value for name, value in given.items() if value is not None}


def _pose_options(args: argparse.Namespace) -> PoseOptions:
    """The options the flags name, checked by `PoseOptions` (a bad value is one line)."""
    return PoseOptions(**_given_options(args))


def _num_proc_argument(parser: argparse.ArgumentParser, alone: str = "") -> None:
    cpus = usable_cpus()
    parser.add_argument(
        "--num-proc",
        type=int,
        default=cpus,
        help=f"worker processes; 1 works in this process alone{alone} (default {cpus}: the CPUs "
        "this process may use)",
    )


def _add_preprocess(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "preprocess",
        help="write the public tool's pose3d/pose6d folder",
        description="Put every kept object on an H x W canvas (docs/format.md, 'The pose3d and "
        "pose6d geometry') and write images/, annotations/ and lists/ under OUT as the public "
        "preprocessing does. Rerun over the same OUT to finish an interrupted run (finished "
        "photos are skipped) or to add other categories.",
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
        "--splits",
        nargs="+",
        choices=(*SPLITS, *SPLIT_ALIASES),
        default=list(SPLITS),
        help="default: both",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="public",
        help="public: images/<category>_<split>/... with the public tool's kept rule, as it "
        "writes; experiment: <split>/images/<category>/... on a 512 x 512 canvas with the "
        "experiment code's kept rule, as the authors' preprocessing for their experiments "
        "writes (default public)",
    )
    _num_proc_argument(parser, ", drawing photos on a thread per CPU")
    _pose_arguments(parser, f"; --layout sets its authors' defaults: {_layout_defaults()}")
    parser.set_defaults(run=_run_preprocess)


def _layout_defaults() -> str:
    """Each layout's default options as the flags that give them."""
    return "; ".join(
        f"{layout}: " + " ".join(f"{option_flag(name)} {value}" for name, value in options.items())
        for layout, options in LAYOUT_OPTIONS.items()
    )


def _one_thread_per_worker(num_proc: int) -> None:
    """With worker processes, each resamples on one thread (set before they are forked)."""
    if num_proc > 1:
        from converter.pose.canvas import resample_on_one_thread

        resample_on_one_thread()


def _run_preprocess(args: argparse.Namespace) -> int:
    from converter.outputs.tool_folder import layout_options, preprocess

    options = layout_options(args.layout, **_given_options(args))
    source = _open(args)
    counts = preprocess(
        source,
        args.out,
        args.mode,
        options,
        splits=args.splits,
        num_proc=args.num_proc,
        layout=args.layout,
    )
    print(counts.summary())
    _report_invalid(source)
    return 0


def _add_export(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export",
        help="write configurations as Parquet shards with a dataset card",
        description="Write OUT/<config>/<split>-NNNNN-of-NNNNN.parquet, each configuration's "
        f"options and source in OUT/<config>/{STAMP}, and the card OUT/{CARD}, ready for "
        "`load_dataset(OUT, config)` and for `imagenet3d push`. Rerun over the same OUT to "
        "finish an interrupted export; configurations built with the same options and source "
        "are kept. A split without examples is left out (datasets cannot load it).",
    )
    _source_arguments(parser)
    parser.add_argument("out", help="the output folder")
    parser.add_argument("--config", choices=(*CONFIGS, "all"), default="all", help="default all")
    parser.add_argument(
        "--max-shard-size",
        default="500MB",
        help="shard size bound, bytes or with a unit (default 500MB); a shard ends with the row "
        "group that passes it, so it exceeds the bound by less than one row group",
    )
    parser.add_argument(
        "--rows-per-group",
        type=int,
        help="rows per Parquet row group, the unit shards are cut in and that many-node "
        "streaming splits by (default: datasets' own, 100 for raw, pose3d and pose6d)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="rebuild the chosen configurations of OUT, even those made with other options or "
        "from another source (without it, those are refused and matching ones kept)",
    )
    _num_proc_argument(parser)
    _pose_arguments(parser)
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from converter.outputs.export import ExportOptions, export
    from converter.outputs.export_folder import read_stamp, shards_per_split

    options = ExportOptions(
        pose=_pose_options(args),
        max_shard_size=args.max_shard_size,
        rows_per_group=args.rows_per_group,
        num_proc=args.num_proc if args.num_proc > 1 else None,
        token=args.token,
    )
    configs = CONFIGS if args.config == "all" else (args.config,)
    source = _open(args)
    _one_thread_per_worker(args.num_proc)
    out = Path(args.out)
    infos = export(source, out, configs, options, overwrite=args.overwrite)
    for config, info in infos.items():
        shards = shards_per_split(read_stamp(out / config))
        counts = ", ".join(
            f"{split} {split_info.num_examples} examples in {shards[split]} shards"
            for split, split_info in info.splits.items()
        )
        print(f"{config}: {counts}")
    print(f"card: {out / CARD}")
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
    parser.add_argument(
        "--gated",
        choices=GATINGS,
        help="who may download: access requests approved at once (auto) or by you (manual), "
        "or anyone (none); default: auto for a repository push creates, an existing one keeps "
        "its setting",
    )
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
        gated=args.gated,
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


EPILOG = (
    f"Progress bars follow the switch of `datasets`: {SWITCH}=1 hides every bar, those of "
    "`huggingface_hub` too, and so does -q. -q and -v set how much this tool tells on stderr; "
    "`datasets` and `huggingface_hub` follow their own DATASETS_VERBOSITY and HF_HUB_VERBOSITY."
)
LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


def _verbosity_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=-1,
        help="warnings only, and no progress bars",
    )
    group.add_argument(
        "-v", "--verbose", dest="verbosity", action="count", help="also debug messages"
    )
    parser.set_defaults(verbosity=0)


def build_parser() -> argparse.ArgumentParser:
    """Each `_add_<command>` declares its arguments and sets `run`, the function that does it."""
    parser = argparse.ArgumentParser(
        prog="imagenet3d",
        description="Read, convert, check and publish the ImageNet3D release.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    for command in commands.choices.values():
        command.epilog = EPILOG
        _verbosity_arguments(command)
    return parser


def _configure_logging(verbosity: int) -> None:
    """This tool's messages to stderr: what is read and built (default), or less, or more."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(LEVELS[min(verbosity, 1)])  # -q gives -1, each -v adds one


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input (data errors, files, options, access) is one line on stderr,
    its control characters escaped (a name from a file cannot add lines or drive the terminal).

    Ctrl-C and SIGTERM end the run and its workers with one line and the shell's status for the
    signal (130, 143), also when the run finished anyway: Python ignores an error raised in a
    finalizer (`__del__`), and the signal's `KeyboardInterrupt` is raised wherever Python was.
    A reader that stops early (`imagenet3d inspect ... | head`) ends the run quietly, as it
    would any Unix tool.
    """
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbosity)
    with stopping(f"imagenet3d {args.command}") as stop:
        try:
            with bars_hidden(args.verbosity < 0 or bars_switched_off()):
                status = args.run(args)
        except BaseException as error:
            return _failure(args.command, error, stop)
        return status if stop.signal is None else stop.report()


def _failure(command: str, error: BaseException, stop: Stop) -> int:
    """The exit status for an error, after its one line; an unforeseen error is raised on.

    Once a stop signal came, whatever the shutdown raised (a pool's timeout, a worker's broken
    pipe) is part of stopping, and the signal's line is the only one.
    """
    if stop.signal is not None or isinstance(error, KeyboardInterrupt):
        return stop.report()
    if isinstance(error, BrokenPipeError):
        _silence_stdout()
        return 141
    if isinstance(error, (ValueError, OSError, AccessError, NetworkError)):
        print(f"imagenet3d {command}: {printable(str(error))}", file=sys.stderr)
        return 1
    raise error


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit does not raise the broken pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
