"""Publishing an export on the Hub with `huggingface_hub`'s own resumable folder upload."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from huggingface_hub import CommitInfo, HfApi

from converter.core.files import PARTIAL_SUFFIX, STAGING_PREFIX

STAGING_PATTERNS = [
    f"{STAGING_PREFIX}*",
    f"{STAGING_PREFIX}*/**",
    f"*{PARTIAL_SUFFIX}",
    ".cache/**",
]


def script_name(repo_id: str) -> str:
    """The file `datasets` 3.x runs for a Hub repository: `<repo name>.py` at its root."""
    return f"{repo_id.split('/')[-1]}.py"


def push(
    folder: Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    with_script: bool = False,
) -> CommitInfo:
    """Upload an export folder; unchanged files are skipped, so an unchanged folder adds no commit.

    With `with_script`, the loading script goes along so that `datasets` 3.x, which still
    runs scripts, can stream the original zip from the same repository.
    """
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if revision and not create_pr:
        api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=folder,
        revision=revision,
        create_pr=create_pr,
        ignore_patterns=STAGING_PATTERNS,
        commit_message="Upload ImageNet3D export",
    )
    if with_script:
        info = api.upload_file(
            path_or_fileobj=importlib.util.find_spec("imagenet3d").origin,
            path_in_repo=script_name(repo_id),
            repo_id=repo_id,
            repo_type="dataset",
            revision=info.pr_revision if create_pr else revision,
            commit_message="Upload the loading script for datasets 3.x",
        )
    return info
