"""Publishing a whole export on the Hub in one commit that every `datasets` version loads.

The folder is checked before anything goes on the network: a card, every configuration it
lists, no leftovers of an interrupted export. What is uploaded is exactly the stamped shards
and a card written for the target repository; shards of an earlier push that this export no
longer has are deleted in the same commit, and so is `<repo name>.py`, the file `datasets` 4+
refuses a whole repository for. No loading script is published (see README, "Publishing").
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

from converter.core.locations import find_credential
from converter.outputs.card import card_text, listed_configs
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


def upload_operations(folder: Path, repo_id: str) -> list[CommitOperationAdd]:
    """The shards of a complete export and its card for `repo_id`, else NotAnExport.

    The stamps stay home: they hold local paths, and the card already says what they say.
    """
    stamps = check_complete(folder, listed_configs(folder))
    shards = {
        f"{config}/{name}": shard_file(folder, config, name)
        for config, stamp in stamps.items()
        for name in stamp["shards"]
    }
    for config in stamps:
        stamp = folder / config / STAMP
        check_no_credential(stamp, stamp.read_text(encoding="utf-8"))
    card, _ = card_text(folder, repo_id)
    check_no_credential(folder / CARD, card)
    return [
        CommitOperationAdd(CARD, card.encode("utf-8")),
        *(CommitOperationAdd(path, file) for path, file in shards.items()),
    ]


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
    """Remote files this push replaces: old shards of its configurations, and the root script."""
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
) -> CommitInfo:
    """Upload a complete export as one commit; an unchanged folder adds no commit.

    Errors before the network (not a complete export) are NotAnExport; errors of the Hub or
    the network are a one-line PushError naming the repository and the cause.
    """
    if not folder.is_dir():
        raise NotAnExport(f"{folder}: no such export folder")
    listed_configs(folder)  # a folder without a card is refused before its lock is made
    with locked(folder, wait=False):
        operations = upload_operations(folder, repo_id)
        try:
            return _commit(HfApi(token=token), operations, repo_id, private, revision, create_pr)
        except HfHubHTTPError as error:
            raise PushError(f"{repo_id}: {_hub_refusal(error)}") from None
        except TRANSPORT_ERRORS as error:
            raise PushError(
                f"{repo_id}: cannot reach the Hub at {constants.ENDPOINT} "
                f"({type(error).__name__}: {error})"
            ) from None


def _commit(
    api: HfApi,
    operations: list[CommitOperationAdd],
    repo_id: str,
    private: bool | None,
    revision: str | None,
    create_pr: bool,
) -> CommitInfo:
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision and not create_pr:
        api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    remote = api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
    deletions = [CommitOperationDelete(path) for path in stale_files(remote, operations, repo_id)]
    return api.create_commit(
        repo_id,
        operations + deletions,
        commit_message=COMMIT_MESSAGE,
        repo_type="dataset",
        revision=revision,
        create_pr=create_pr,
    )


def _hub_refusal(error: HfHubHTTPError) -> str:
    """The Hub's answer in one line: status, its own message, and what to do about a 401/403."""
    status = error.response.status_code if error.response is not None else None
    said = error.server_message or str(error)
    cause = f"the Hub answered {status}: {said.strip().splitlines()[0]}"
    if status in (401, 403):
        cause += " (log in with `hf auth login` or pass --token, a token with write access)"
    return cause
