"""Publishing a whole export on the Hub in one commit that every `datasets` version loads.

The folder is checked before anything goes on the network: a card, every configuration it
lists, no leftovers of an interrupted export. What is uploaded is exactly the stamped shards
and a card written for the target repository, merged over the card already there: the
configurations this export does not hold keep their files, card entries and sections, and the
maintainers' own text stays. Shards of an earlier push of the configurations this export holds
are deleted in the same commit, and so is `<repo name>.py`, the file `datasets` 4+ refuses a
whole repository for. No loading script is published (see README, "Publishing").
"""

from __future__ import annotations

import stat
from pathlib import Path, PurePosixPath

from huggingface_hub import (
    CommitInfo,
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
)
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import validate_repo_id

from converter.core.locations import find_credential
from converter.core.progress import bars_hidden, bars_switched_off
from converter.core.release import GATINGS, Gating
from converter.outputs.card import card_text, listed_configs
from converter.outputs.card_parts import CardError
from converter.outputs.export_folder import CARD, STAMP, NotAnExport, check_complete, locked

COMMIT_MESSAGE = "Upload ImageNet3D export"
# huggingface_hub's HTTP errors derive from its HTTP library's own base error (and OSError):
# catching those bases catches refused connections and time-outs, whatever that library is.
TRANSPORT_ERRORS = HfHubHTTPError.__bases__


class PushError(OSError):
    """The Hub could not be reached or refused the upload; names the repository and the cause."""


def script_name(repo_id: str) -> str:
    """The file `datasets` looks for at a repository's root: 3.x runs it, 4+ refuses the repo."""
    return f"{repo_id.split('/')[-1]}.py"


def upload_operations(
    folder: Path,
    repo_id: str,
    existing: str | None = None,
    shards: dict[str, Path] | None = None,
) -> list[CommitOperationAdd]:
    """The shards of a complete export and its card for `repo_id`, merged over the `existing`
    card of the repository (its other configurations and the maintainers' text stay).

    `shards` are those `shards_to_upload` already vetted (each shard's digest is read once per
    push); without them the folder is vetted here. The stamps stay home: they hold local
    paths, and the card already says what they say.
    """
    shards = shards_to_upload(folder) if shards is None else shards
    card, _ = card_text(folder, repo_id, existing)
    check_no_credential(folder / CARD, card)
    return [
        CommitOperationAdd(CARD, card.encode("utf-8")),
        *(CommitOperationAdd(path, file) for path, file in shards.items()),
    ]


def shards_to_upload(folder: Path) -> dict[str, Path]:
    """The shards of a complete export by their path in the repository, once every stamp is
    free of credentials and every shard a regular file of the folder: checked before any
    request, so a refused folder costs the Hub nothing."""
    stamps = check_complete(folder, listed_configs(folder))
    for config in stamps:
        stamp = folder / config / STAMP
        check_no_credential(stamp, stamp.read_text(encoding="utf-8"))
    return {
        f"{config}/{name}": shard_file(folder, config, name)
        for config, stamp in stamps.items()
        for name in stamp["shards"]
    }


def check_no_credential(path: Path, text: str) -> None:
    """Refuse to publish what `path` says (the card, or the stamp it is made from) when it holds
    a credential: one recorded by an older version, or written in by hand."""
    found = find_credential(text)
    if found:
        raise NotAnExport(
            f"{path} holds {found}, which a push would publish; remove it from the file, "
            "or export again into a new folder"
        )


def shard_file(folder: Path, config: str, name: str) -> Path:
    """The stamped shard `name` of `config`, if it is a bare name of a regular file there.

    A path or a link would upload a file from outside the export, under a name that tells
    its local path.
    """
    bare = isinstance(name, str) and name not in ("", ".", "..") and "\\" not in name
    path = folder / config / str(name)
    try:
        regular = bare and PurePosixPath(name).name == name and stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        regular = False
    if not regular:
        raise NotAnExport(
            f"{path} is listed in {folder / config / STAMP} but is not a regular file in that "
            "folder (a link, a path elsewhere or missing); export again into a new folder"
        )
    return path


def stale_files(remote: list[str], operations: list[CommitOperationAdd], repo_id: str) -> list[str]:
    """Remote files this push replaces: old shards of its configurations, and the root script.

    Files of the configurations this export does not hold are left as they are.
    """
    uploaded = {operation.path_in_repo for operation in operations}
    folders = {path.partition("/")[0] for path in uploaded if "/" in path}

    def replaced(path: str) -> bool:
        folder, slash, _ = path.partition("/")
        return (bool(slash) and folder in folders) or path == script_name(repo_id)

    return [path for path in remote if path not in uploaded and replaced(path)]


def push(
    folder: Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    gated: Gating | None = None,
) -> CommitInfo:
    """Upload a complete export as one commit; an unchanged folder adds no commit.

    A repository this push creates is gated (`auto`, or `gated`) before any data goes in; an
    existing one keeps its gating unless `gated` is given ("none" opens it). Errors before the
    network (not a complete export) are NotAnExport; errors of the Hub or the network are a
    one-line PushError naming the repository and the cause.
    """
    if gated is not None and gated not in GATINGS:
        raise ValueError(f"gated must be one of {', '.join(GATINGS)}, got {gated!r}")
    validate_repo_id(repo_id)  # one line naming what is wrong, before any request
    if not folder.is_dir():
        raise NotAnExport(f"{folder}: no such export folder")
    listed_configs(folder)  # a folder without a card is refused before its lock is made
    with locked(folder, wait=False), bars_hidden(bars_switched_off()):
        shards = shards_to_upload(folder)  # refused before any request
        try:
            api = HfApi(token=token)
            return _commit(api, folder, shards, repo_id, private, gated, revision, create_pr)
        except HfHubHTTPError as error:
            raise PushError(f"{repo_id}: {_hub_refusal(error)}") from None
        except CardError as error:
            raise PushError(f"{repo_id}: {error}; fix its {CARD} on the Hub") from None
        except TRANSPORT_ERRORS as error:
            raise PushError(
                f"{repo_id}: cannot reach the Hub at {constants.ENDPOINT} "
                f"({type(error).__name__}: {error})"
            ) from None


def _commit(
    api: HfApi,
    folder: Path,
    shards: dict[str, Path],
    repo_id: str,
    private: bool | None,
    gated: Gating | None,
    revision: str | None,
    create_pr: bool,
) -> CommitInfo:
    if _create(api, repo_id, private) and gated is None:
        gated = "auto"
    if gated is not None:
        setting = False if gated == "none" else gated
        api.update_repo_settings(repo_id, gated=setting, repo_type="dataset")
    if revision and not create_pr:
        api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    # The merge is made over one commit of the repository, and the Hub refuses the push if
    # another has come since: an edit made on the Hub meanwhile is never overwritten.
    head = api.repo_info(repo_id, repo_type="dataset", revision=revision).sha
    remote = api.list_repo_files(repo_id, repo_type="dataset", revision=head)
    existing = _remote_card(api, repo_id, head) if CARD in remote else None
    operations = upload_operations(folder, repo_id, existing, shards)
    deletions = [CommitOperationDelete(path) for path in stale_files(remote, operations, repo_id)]
    return api.create_commit(
        repo_id,
        operations + deletions,
        commit_message=COMMIT_MESSAGE,
        repo_type="dataset",
        revision=revision,
        create_pr=create_pr,
        parent_commit=head,
    )


def _create(api: HfApi, repo_id: str, private: bool | None) -> bool:
    """Create the dataset repository unless it exists; whether this push created it."""
    if api.repo_exists(repo_id, repo_type="dataset"):
        return False
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    return True


def _remote_card(api: HfApi, repo_id: str, revision: str) -> str:
    """The repository's card at `revision`, to merge this push's over."""
    path = api.hf_hub_download(repo_id, CARD, repo_type="dataset", revision=revision)
    return Path(path).read_text(encoding="utf-8")


def _hub_refusal(error: HfHubHTTPError) -> str:
    """The Hub's answer in one line: status, its own message, and what to do about a 401/403."""
    status = error.response.status_code if error.response is not None else None
    said = error.server_message or str(error)
    cause = f"the Hub answered {status}: {said.strip().splitlines()[0]}"
    if status in (401, 403):
        cause += " (log in with `hf auth login` or pass --token, a token with write access)"
    return cause
