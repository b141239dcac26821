"""A small Hugging Face Hub on 127.0.0.1 that the real `huggingface_hub` and `datasets` talk to.

File contents live on disk in a content store (`root/objects/<sha256>`); repos, refs and
commits live in memory: a commit maps every path of the repo to a blob, a ref (`main`,
`refs/pr/1`) names a commit. Only dataset repos. Clients must upload with the plain LFS
protocol (`HF_HUB_DISABLE_XET=1`); this Hub never sends Xet headers.

    hub.new_repo("ccvl/ImageNet3D", files={"imagenet3d_v1.zip": zip_path}, gated="manual")
    hub.faults.error(path="/resolve/")        # the next download request answers 500
    [commit.title for commit in hub.commits("ccvl/ImageNet3D")]
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from testbed.servers.base import LoopbackHandler, LoopbackServer

GRANTED_TOKEN = "hf_loopback_granted"
# A repo's gating as the Hub reports and takes it: False, or how access requests are approved.
Gated = Literal[False, "auto", "manual"]
GATED_VALUES = (False, "auto", "manual")
TREE_PAGE_SIZE = 1000  # entries per page of a tree listing, as the Hub pages them
USER = "loopback-user"
LFS_MIN_SIZE = 10 * 1024 * 1024
LFS_SUFFIXES = (".arrow", ".jpeg", ".jpg", ".npz", ".parquet", ".png", ".tar", ".zip")
GITATTRIBUTES = "".join(
    f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES
)


def is_lfs(path: str, size: int) -> bool:
    """Whether the Hub stores a file with LFS: large, or of a binary type its .gitattributes lists."""
    return size >= LFS_MIN_SIZE or path.lower().endswith(LFS_SUFFIXES)


def _git_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Blob:
    """One file version. `oid` is its git id: of the content, or of the LFS pointer file."""

    sha256: str
    size: int
    oid: str
    pointer_size: int | None = None

    @classmethod
    def regular(cls, content: bytes) -> Blob:
        return cls(hashlib.sha256(content).hexdigest(), len(content), _git_oid(content))

    @classmethod
    def lfs(cls, sha256: str, size: int) -> Blob:
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
        return cls(sha256, size, _git_oid(pointer.encode()), len(pointer))

    @property
    def etag(self) -> str:
        return self.sha256 if self.pointer_size is not None else self.oid


@dataclass(frozen=True)
class Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    date: str
    files: Mapping[str, Blob]


@dataclass
class Repo:
    repo_id: str
    created: str
    refs: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    gated: Gated = False
    granted: set[str] = field(default_factory=set)
    pull_requests: int = 0

    def resolve(self, revision: str) -> Commit:
        """The commit a branch, PR ref or commit id names."""
        oid = self.refs.get(revision, revision)
        if oid not in self.commits:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return self.commits[oid]

    def history(self, commit: Commit) -> list[Commit]:
        """`commit` and its ancestors, newest first."""
        chain = [commit]
        while chain[-1].parent is not None:
            chain.append(self.commits[chain[-1].parent])
        return chain

    def last_change(self, commit: Commit, path: str) -> Commit:
        """The newest commit in the history of `commit` that changed `path` (a file or folder)."""

        def below(files: Mapping[str, Blob]) -> dict[str, Blob]:
            return {name: blob for name, blob in files.items() if _within(name, path)}

        history = self.history(commit)
        for newer, older in itertools.pairwise(history):
            if below(newer.files) != below(older.files):
                return newer
        return history[-1]


def _within(name: str, folder: str) -> bool:
    return folder == "" or name == folder or name.startswith(folder + "/")


class HubError(Exception):
    """An answer the Hub gives as an error, with the `X-Error-Code` clients map to exceptions."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.body = {"error": message, **(body or {})}
        self.headers = {"X-Error-Message": message, **(headers or {})}
        if code is not None:
            self.headers["X-Error-Code"] = code


REPO = r"(?P<repo>[^/]+/[^/]+)"
REV = r"(?P<rev>[^/]+)"
ROUTES = [
    (method, re.compile(pattern), name)
    for method, pattern, name in [
        ("GET", rf"/api/datasets/{REPO}", "repo_info"),
        ("GET", rf"/api/datasets/{REPO}/revision/{REV}", "repo_info"),
        ("GET", rf"/api/datasets/{REPO}/tree/{REV}(?:/(?P<path>.*))?", "tree"),
        ("GET", rf"/api/datasets/{REPO}/commits/{REV}", "list_commits"),
        ("POST", rf"/api/datasets/{REPO}/paths-info/{REV}", "paths_info"),
        ("POST", rf"/api/datasets/{REPO}/preupload/{REV}", "preupload"),
        ("POST", rf"/api/datasets/{REPO}/commit/{REV}", "create_commit"),
        ("POST", rf"/api/datasets/{REPO}/branch/{REV}", "create_branch"),
        ("PUT", rf"/api/datasets/{REPO}/settings", "update_settings"),
        ("POST", r"/api/repos/create", "create_repo"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("POST", rf"/datasets/{REPO}\.git/info/lfs/objects/batch", "lfs_batch"),
        ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
        ("GET", rf"/datasets/{REPO}/resolve/{REV}/(?P<path>.+)", "resolve"),
    ]
]


class HubHandler(LoopbackHandler):
    server_version = "LoopbackHub/1"

    @property
    def hub(self) -> Hub:
        return self.server.owner  # type: ignore[return-value]

    @property
    def token(self) -> str | None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return token if scheme == "Bearer" and token else None

    def route(self) -> None:
        raw_path = urlsplit(self.path).path
        method = "GET" if self.command == "HEAD" else self.command
        for verb, pattern, name in ROUTES:
            match = pattern.fullmatch(raw_path) if verb == method else None
            if match is None:
                continue
            arguments = {key: unquote(value) for key, value in match.groupdict().items() if value}
            try:
                getattr(self, name)(**arguments)
            except HubError as error:
                self.respond_json(error.status, error.body, error.headers)
            return
        self.respond_json(404, {"error": f"The loopback Hub has no {self.command} {raw_path}"})

    def repo_info(self, repo: str, rev: str = "main") -> None:
        with self.hub.lock:
            hosted = self.hub.repo(repo)
            commit = hosted.resolve(rev)
            siblings = [_sibling(path, blob) for path, blob in sorted(commit.files.items())]
            info = {
                "id": repo,
                "author": repo.split("/")[0],
                "sha": commit.oid,
                "createdAt": hosted.created,
                "lastModified": commit.date,
                "private": False,
                "gated": hosted.gated,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
            }
        self.respond_json(200, info)

    def tree(self, repo: str, rev: str, path: str = "") -> None:
        expand = self._flag("expand")
        with self.hub.lock:
            hosted = self.hub.repo(repo)
            commit = hosted.resolve(rev)
            paths = _listing(commit.files, path.strip("/"), self._flag("recursive"))
            if not paths:
                raise HubError(404, "EntryNotFound", f"{path} does not exist on {rev}")
            page_size = min(TREE_PAGE_SIZE, 50) if expand else TREE_PAGE_SIZE
            start = int(self.query.get("cursor", ["0"])[0])
            page = [_entry(hosted, commit, p, expand) for p in paths[start : start + page_size]]
        headers = {}
        if start + page_size < len(paths):
            query = {name: values[0] for name, values in self.query.items()}
            query["cursor"] = str(start + page_size)
            next_url = f"{self.hub.url}{urlsplit(self.path).path}?{urlencode(query)}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        self.respond_json(200, page, headers)

    def list_commits(self, repo: str, rev: str) -> None:
        with self.hub.lock:
            hosted = self.hub.repo(repo)
            history = hosted.history(hosted.resolve(rev))
        self.respond_json(200, [_commit_json(commit) for commit in history])

    def paths_info(self, repo: str, rev: str) -> None:
        form = parse_qs(self.body.decode())
        expand = form.get("expand", ["false"])[0].lower() == "true"
        with self.hub.lock:
            hosted = self.hub.repo(repo)
            commit = hosted.resolve(rev)
            wanted = [path.strip("/") for path in form.get("paths", [])]
            found = [path for path in wanted if any(_within(name, path) for name in commit.files)]
            entries = [_entry(hosted, commit, path, expand) for path in found]
        self.respond_json(200, entries)

    def preupload(self, repo: str, rev: str) -> None:
        self._require_token()
        with self.hub.lock:
            files = self.hub.repo(repo).resolve(rev).files
        answers = []
        for asked in json.loads(self.body)["files"]:
            mode = "lfs" if is_lfs(asked["path"], asked["size"]) else "regular"
            oid = _remote_oid(files.get(asked["path"]), mode)
            answers.append(
                {"path": asked["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid}
            )
        self.respond_json(200, {"files": answers})

    def create_commit(self, repo: str, rev: str) -> None:
        self._require_token()
        header, *operations = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        summary = header["value"]
        with self.hub.lock:
            hosted = self.hub.repo(repo)
            if rev not in hosted.refs:
                raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            base = hosted.resolve(rev)
            if summary.get("parentCommit") not in (None, base.oid):
                raise HubError(
                    412, None, "A commit has happened since. Please refresh and try again."
                )
            files = dict(base.files)
            for operation in operations:
                self._apply(files, operation["key"], operation["value"])
            branch, pull_request = rev, None
            if self.query.get("create_pr") == ["1"]:
                hosted.pull_requests += 1
                branch = f"refs/pr/{hosted.pull_requests}"
                hosted.refs[branch] = base.oid
                pull_request = f"{self.hub.url}/datasets/{repo}/discussions/{hosted.pull_requests}"
            commit = self.hub.commit(
                hosted, branch, files, summary["summary"], summary.get("description", "")
            )
        answer = {
            "success": True,
            "commitOid": commit.oid,
            "commitUrl": f"{self.hub.url}/datasets/{repo}/commit/{commit.oid}",
            "pullRequestUrl": pull_request,
        }
        self.respond_json(200, answer)

    def create_branch(self, repo: str, rev: str) -> None:
        self._require_token()
        starting_point = json.loads(self.body or b"{}").get("startingPoint", "main")
        with self.hub.lock:
            hosted = self.hub.repo(repo)
            if rev in hosted.refs:
                raise HubError(409, None, f"Reference {rev} already exists")
            hosted.refs[rev] = hosted.resolve(starting_point).oid
        self.respond_json(200, {})

    def create_repo(self) -> None:
        self._require_token()
        asked = json.loads(self.body)
        if asked.get("type") != "dataset":
            raise HubError(400, None, "The loopback Hub only hosts dataset repos")
        repo_id = f"{asked.get('organization') or USER}/{asked['name']}"
        url = f"{self.hub.url}/datasets/{repo_id}"
        with self.hub.lock:
            if repo_id in self.hub.repos:
                raise HubError(
                    409, None, "You already created this dataset repo", body={"url": url}
                )
            self.hub.new_repo(repo_id)
            self.hub.repo(repo_id).granted.add(self.token)  # owners read their gated repos
        self.respond_json(200, {"url": url, "name": repo_id})

    def update_settings(self, repo: str) -> None:
        """`HfApi.update_repo_settings`: a JSON body with `gated` ("auto", "manual" or false)."""
        self._require_token()
        asked = json.loads(self.body or b"{}")
        unknown = sorted(set(asked) - {"gated"})
        if unknown or asked.get("gated", False) not in GATED_VALUES or not asked:
            raise HubError(400, None, f"The loopback Hub only sets gated to {GATED_VALUES}")
        with self.hub.lock:
            self.hub.repo(repo).gated = asked["gated"]
        self.respond_json(200, {})

    def validate_yaml(self) -> None:
        self.respond_json(200, {"errors": [], "warnings": []})

    def lfs_batch(self, repo: str) -> None:
        self._require_token()
        self.hub.repo(repo)
        objects = []
        for asked in json.loads(self.body)["objects"]:
            answer = {"oid": asked["oid"], "size": asked["size"], "authenticated": True}
            if not self.hub.object_path(asked["oid"]).exists():
                upload = {"href": f"{self.hub.url}/lfs-upload/{asked['oid']}"}
                answer["actions"] = {"upload": upload}
            objects.append(answer)
        answer = {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}
        self.respond_json(200, answer, {"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_upload(self, oid: str) -> None:
        if hashlib.sha256(self.body).hexdigest() != oid:
            raise HubError(400, None, "Uploaded content does not match its sha256")
        self.hub.store(self.body, lfs=True)
        self.respond(200, {})

    def resolve(self, repo: str, rev: str, path: str) -> None:
        with self.hub.lock:
            hosted = self.hub.repo(repo)
            self._check_gate(hosted)
            commit = hosted.resolve(rev)
            blob = commit.files.get(path)
        if blob is None:
            message = f"{path} does not exist on {rev}"
            raise HubError(404, "EntryNotFound", message, {"X-Repo-Commit": commit.oid})
        headers = {"ETag": f'"{blob.etag}"', "X-Repo-Commit": commit.oid}
        if blob.pointer_size is not None:
            headers |= {"X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(blob.size)}
        self.send_file(self.hub.object_path(blob.sha256), headers)

    def _apply(self, files: dict[str, Blob], key: str, value: dict) -> None:
        """Apply one line of a commit payload to the commit's file mapping."""
        path = value["path"]
        if key == "file":
            files[path] = self.hub.store(base64.b64decode(value["content"]))
        elif key == "lfsFile":
            stored = self.hub.object_path(value["oid"])
            if not stored.exists():
                raise HubError(400, None, f"LFS object {value['oid']} of {path} was never uploaded")
            files[path] = Blob.lfs(value["oid"], stored.stat().st_size)
        elif key == "deletedFile":
            if files.pop(path, None) is None:
                raise HubError(404, "EntryNotFound", f"A file with this name doesn't exist: {path}")
        elif key == "deletedFolder":
            for name in [name for name in files if _within(name, path.rstrip("/"))]:
                del files[name]
        else:
            raise HubError(400, None, f"Unknown commit operation {key}")

    def _check_gate(self, repo: Repo) -> None:
        if repo.gated is False or self.token in repo.granted:
            return
        if self.token is None:
            message = (
                f"Access to dataset {repo.repo_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in."
            )
            raise HubError(401, "GatedRepo", message)
        message = (
            f"Access to dataset {repo.repo_id} is restricted and you are not in the authorized list. "
            f"Visit {self.hub.url}/datasets/{repo.repo_id} to ask for access."
        )
        raise HubError(403, "GatedRepo", message)

    def _require_token(self) -> None:
        if self.token is None:
            raise HubError(401, None, "Writing to the Hub needs a token")

    def _flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[0].lower() in ("1", "true")


def _remote_oid(known: Blob | None, mode: str) -> str | None:
    """The id the client compares with its own to skip unchanged files: sha256 for LFS, git id else."""
    if known is None:
        return None
    return known.sha256 if mode == "lfs" else known.oid


def _listing(files: Mapping[str, Blob], path: str, recursive: bool) -> list[str]:
    """The paths a tree request for `path` lists: a file itself, or a folder's content."""
    if path in files:
        return [path]
    prefix = f"{path}/" if path else ""
    found: set[str] = set()
    for name in files:
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split("/")
        depths = range(1, len(parts) + 1) if recursive else [1]
        found.update(prefix + "/".join(parts[:depth]) for depth in depths)
    return sorted(found)


def _entry(repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
    """A tree / paths-info entry: a file (with its LFS pointer facts) or a folder."""
    blob = commit.files.get(path)
    if blob is None:
        below = sorted((name, b.oid) for name, b in commit.files.items() if _within(name, path))
        tree_oid = hashlib.sha1(json.dumps(below).encode()).hexdigest()
        entry: dict = {"type": "directory", "oid": tree_oid, "path": path}
    else:
        entry = {"type": "file", "oid": blob.oid, "size": blob.size, "path": path}
        if blob.pointer_size is not None:
            entry["lfs"] = {"oid": blob.sha256, "size": blob.size, "pointerSize": blob.pointer_size}
    if expand:
        last = repo.last_change(commit, path)
        entry["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
    return entry


def _sibling(path: str, blob: Blob) -> dict:
    sibling: dict = {"rfilename": path, "size": blob.size, "blobId": blob.oid}
    if blob.pointer_size is not None:
        sibling["lfs"] = {
            "size": blob.size,
            "sha256": blob.sha256,
            "pointerSize": blob.pointer_size,
        }
    return sibling


def _commit_json(commit: Commit) -> dict:
    return {
        "id": commit.oid,
        "title": commit.title,
        "message": commit.message,
        "date": commit.date,
        "authors": [{"user": USER}],
    }


class Hub(LoopbackServer):
    """The loopback Hub; its helper methods let tests seed, gate and inspect repos directly."""

    handler = HubHandler

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.repos: dict[str, Repo] = {}
        self.lock = threading.RLock()
        self._names = itertools.count(1)
        super().__init__()

    def reset(self) -> None:
        """Forget every repo and stored file, the traffic, and the armed faults."""
        super().reset()
        with self.lock:
            self.repos.clear()
            shutil.rmtree(self.objects)
            self.objects.mkdir()

    def new_repo(
        self,
        repo_id: str | None = None,
        *,
        files: Mapping[str, bytes | Path] | None = None,
        gated: Gated | bool = False,
    ) -> str:
        """Create a dataset repo (a fresh `user/repo-N` name by default) holding `files`;
        `gated=True` gates it "manual", as the source repository is."""
        with self.lock:
            repo_id = repo_id or f"{USER}/repo-{next(self._names)}"
            if repo_id in self.repos:
                raise ValueError(f"{repo_id} already exists on the loopback Hub")
            repo = self.repos[repo_id] = Repo(repo_id, created=_now())
            self.commit(
                repo,
                "main",
                {".gitattributes": self.store(GITATTRIBUTES.encode())},
                "initial commit",
            )
            for path, content in (files or {}).items():
                self.add_file(repo_id, path, content)
            if gated:
                self.gate(repo_id, "manual" if gated is True else gated)
            return repo_id

    def add_file(self, repo_id: str, path_in_repo: str, content: bytes | Path) -> None:
        """Commit one file to main directly."""
        data = content if isinstance(content, bytes) else content.read_bytes()
        with self.lock:
            repo = self.repo(repo_id)
            files = dict(repo.resolve("main").files)
            files[path_in_repo] = self.store(data, lfs=is_lfs(path_in_repo, len(data)))
            self.commit(repo, "main", files, f"Upload {path_in_repo}")

    def gate(self, repo_id: str, how: Gated = "manual") -> None:
        """Make a repo gated: only GRANTED_TOKEN (and its owner) may download its files."""
        with self.lock:
            repo = self.repo(repo_id)
            repo.gated = how
            repo.granted.add(GRANTED_TOKEN)

    def commits(self, repo_id: str, revision: str = "main") -> list[Commit]:
        """The history of a revision, newest first."""
        with self.lock:
            repo = self.repo(repo_id)
            return repo.history(repo.resolve(revision))

    def read(self, repo_id: str, path_in_repo: str, revision: str = "main") -> bytes:
        with self.lock:
            blob = self.repo(repo_id).resolve(revision).files[path_in_repo]
        return self.object_path(blob.sha256).read_bytes()

    def repo(self, repo_id: str) -> Repo:
        if repo_id not in self.repos:
            raise HubError(404, "RepoNotFound", "Repository not found")
        return self.repos[repo_id]

    def store(self, content: bytes, *, lfs: bool = False) -> Blob:
        """Put content in the object store; the blob says how the repo keeps it."""
        blob = Blob.regular(content)
        target = self.object_path(blob.sha256)
        if not target.exists():
            partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.tmp")
            partial.write_bytes(content)
            partial.replace(target)
        return Blob.lfs(blob.sha256, blob.size) if lfs else blob

    def object_path(self, sha256: str) -> Path:
        return self.objects / sha256

    def commit(
        self, repo: Repo, branch: str, files: Mapping[str, Blob], title: str, message: str = ""
    ) -> Commit:
        """Record a commit holding `files` on `branch` (created if new)."""
        parent = repo.refs.get(branch)
        commit = Commit(secrets.token_hex(20), parent, title, message, _now(), dict(files))
        repo.commits[commit.oid] = commit
        repo.refs[branch] = commit.oid
        return commit
