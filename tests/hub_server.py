"""A small Hugging Face Hub-compatible server, so tests run the real huggingface_hub code offline.

It speaks the part of the Hub's HTTP protocol that huggingface_hub 2.4 uses with HF_HUB_DISABLE_XET=1,
for model and dataset repos:

- repos: `POST /api/repos/create`; repo info at `GET /api/{models,datasets}/{repo}[/revision/{rev}]`.
- listing: `GET .../tree/{rev}[/{path}]` (recursive, expand, paginated through a `Link` header like the
  Hub), `POST .../paths-info/{rev}` (form-encoded), `GET .../commits/{rev}`.
- uploading: `POST .../preupload/{rev}`, the Git LFS batch API at `POST /[datasets/]{repo}.git/info/lfs/
  objects/batch` (basic transfer) with its verify action, the upload href `PUT /lfs/{sha256}`, and
  `POST .../commit/{rev}` (NDJSON: header, file, lfsFile, deletedFile, deletedFolder); also
  `POST /api/validate-yaml`, which the client calls before committing a README.md.
- downloading: `HEAD`/`GET /[datasets/]{repo}/resolve/{rev}/{path}` with Range support. As on the Hub,
  LFS files answer 302 to a storage host ("CDN") that differs from the endpoint (`localhost` rather than
  `127.0.0.1`), with `X-Linked-Etag`/`X-Linked-Size`: that is the path where huggingface_hub stops
  following redirects, takes the metadata from the 302 and drops the Authorization header.

Errors carry the Hub's `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound), which is what
huggingface_hub maps to its exception types. State lives in memory, one `Hub` per server. Every repo
has one branch, `main`; each commit gets a 40-hex id, moves `main`, and stays resolvable by its id.
Private repos are hidden (404 RepoNotFound) from requests without a token; any token is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

#: The namespace of repos created without an organization (the token's user on the real Hub).
USER = "hub-test-user"
#: Suffixes stored in LFS, as the .gitattributes of a new Hub repo says (a subset of its list).
LFS_SUFFIXES = (".safetensors", ".parquet", ".arrow", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack",
                ".npy", ".npz", ".onnx", ".zip", ".gz", ".tar", ".wav", ".flac", ".mp3")
GITATTRIBUTES = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES)
#: Like the Hub, any file from 10 MB on goes to LFS whatever its name.
LFS_MIN_SIZE = 10 * 1024 * 1024
#: The Hub's tree page sizes: 1000 entries, or 50 when expand=true.
TREE_PAGE_SIZE, EXPANDED_TREE_PAGE_SIZE = 1000, 50
REPO_TYPES = {"models": "model", "datasets": "dataset"}
URL_PREFIXES = {"model": "", "dataset": "datasets/"}
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class HubError(Exception):
    """An error answered the Hub's way: JSON {"error": message}, and an X-Error-Code header if `code`."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


@dataclass(frozen=True)
class Entry:
    """A file in a commit's tree; its content is `Hub.blobs[sha256]` whether it is in LFS or not."""

    sha256: str
    size: int
    oid: str  # git blob id: of the content, or of the LFS pointer file for LFS files
    lfs: bool
    last_commit: str  # the id of the last commit that changed this path


@dataclass(frozen=True)
class Commit:
    """A commit: a full snapshot of the repo's files, so old revisions stay readable as they were."""

    id: str
    title: str
    message: str
    date: str
    files: dict[str, Entry]


@dataclass
class Repo:
    """A repo: its commits by id, oldest first, and its only branch, `main`."""

    type: str
    id: str
    private: bool
    created_at: str
    commits: dict[str, Commit] = field(default_factory=dict)
    main: str = ""


def git_blob_id(data: bytes) -> str:
    """The id git gives a blob (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The pointer file git stores in place of an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def now() -> str:
    """The current time as the Hub writes dates."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def stored_in_lfs(path: str, size: int, sample: bytes) -> bool:
    """Whether the Hub stores a file in LFS: by its name, its size, or as binary (a NUL byte in its start)."""
    return path.endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE or b"\0" in sample


def folders_of(commit: Commit) -> set[str]:
    """Every folder of a commit's tree (git has no empty folders)."""
    return {name.rsplit("/", depth)[0] for name in commit.files for depth in range(1, name.count("/") + 1)}


def is_true(value: str | None) -> bool:
    """A boolean query or form value: httpx sends "true"/"false", older clients "True"/"False"."""
    return (value or "").lower() in ("1", "true")


class Hub:
    """The server's state and the protocol's logic, apart from HTTP."""

    def __init__(self, endpoint: str, storage_endpoint: str) -> None:
        self.endpoint, self.storage_endpoint = endpoint, storage_endpoint
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}  # every file's content (LFS objects too), by sha256
        self.commit_count = 0  # mixed into commit ids: two commits never share an id

    def repo_url(self, repo: Repo) -> str:
        return f"{self.endpoint}/{URL_PREFIXES[repo.type]}{repo.id}"

    def create_repo(self, repo_type: str, repo_id: str, private: bool) -> bool:
        """Create a repo with the Hub's initial commit (a .gitattributes); False if it exists."""
        if (repo_type, repo_id) in self.repos:
            return False
        repo = self.repos[repo_type, repo_id] = Repo(repo_type, repo_id, private, now())
        self.commit(repo, {"summary": "initial commit"}, [
            {"key": "file", "value": {"path": ".gitattributes", "encoding": "base64",
                                      "content": base64.b64encode(GITATTRIBUTES.encode()).decode()}},
        ])
        return True

    def get_repo(self, repo_type: str, repo_id: str, authorized: bool) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not authorized):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def resolve(self, repo: Repo, revision: str) -> Commit:
        """The commit a branch name or a full commit id names."""
        commit_id = repo.main if revision == "main" else revision
        if commit_id not in repo.commits:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[commit_id]

    def commit(self, repo: Repo, header: dict, operations: list[dict]) -> Commit:
        """Apply the NDJSON commit operations on top of `main` and move `main` to the new commit."""
        parent = repo.commits.get(repo.main)
        parent_commit = header.get("parentCommit")
        if parent_commit and not (parent and parent.id.startswith(parent_commit)):
            raise HubError(412, f"Parent commit {parent_commit} is not the head of main")
        self.commit_count += 1
        seed = json.dumps([repo.type, repo.id, repo.main, self.commit_count, time.time(), header, operations])
        commit_id = hashlib.sha1(seed.encode()).hexdigest()
        files = dict(parent.files) if parent else {}
        for operation in operations:
            key, value = operation["key"], operation["value"]
            path = value["path"]
            if key == "file":
                data = base64.b64decode(value["content"])
                sha256 = hashlib.sha256(data).hexdigest()
                self.blobs[sha256] = data
                files[path] = Entry(sha256, len(data), git_blob_id(data), False, commit_id)
            elif key == "lfsFile":
                sha256 = value["oid"]
                if sha256 not in self.blobs:
                    raise HubError(422, f"LFS object {sha256} of {path} was not uploaded")
                size = len(self.blobs[sha256])
                files[path] = Entry(sha256, size, git_blob_id(lfs_pointer(sha256, size)), True, commit_id)
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                doomed = [name for name in files if name.startswith(prefix)]
                if not doomed:
                    raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for name in doomed:
                    del files[name]
            else:
                raise HubError(400, f"Unknown commit operation {key!r}")
        commit = Commit(commit_id, header.get("summary", ""), header.get("description", ""), now(), files)
        repo.commits[commit_id] = commit
        repo.main = commit_id
        return commit

    def last_commit(self, repo: Repo, commit_id: str) -> dict:
        commit = repo.commits[commit_id]
        return {"id": commit.id, "title": commit.title, "date": commit.date}

    def file_info(self, repo: Repo, path: str, entry: Entry, expand: bool) -> dict:
        """A file as tree and paths-info list it."""
        info: dict = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
        if entry.lfs:
            pointer_size = len(lfs_pointer(entry.sha256, entry.size))
            info["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": pointer_size}
        if expand:
            info["lastCommit"] = self.last_commit(repo, entry.last_commit)
        return info

    def folder_info(self, repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
        """A folder as tree and paths-info list it; its last commit is the latest of its files'."""
        inside = sorted((name, entry) for name, entry in commit.files.items() if name.startswith(path + "/"))
        tree_id = hashlib.sha1(json.dumps([(name, entry.oid) for name, entry in inside]).encode()).hexdigest()
        info: dict = {"type": "directory", "oid": tree_id, "size": 0, "path": path}
        if expand:
            commit_ids = list(repo.commits)
            latest = max((entry.last_commit for _, entry in inside), key=commit_ids.index)
            info["lastCommit"] = self.last_commit(repo, latest)
        return info

    def tree(self, repo: Repo, commit: Commit, path: str, recursive: bool, expand: bool) -> list[dict]:
        """The entries below folder `path` ("" for the root), sorted by path."""
        folders = folders_of(commit)
        if path and path not in folders:
            raise HubError(404, f"{path} does not exist on {commit.id}", "EntryNotFound",
                           {"X-Repo-Commit": commit.id})
        prefix = path + "/" if path else ""
        depth = prefix.count("/")

        def wanted(name: str) -> bool:
            return name.startswith(prefix) and (recursive or name.count("/") == depth)

        entries = [self.file_info(repo, name, entry, expand)
                   for name, entry in commit.files.items() if wanted(name)]
        entries += [self.folder_info(repo, commit, name, expand) for name in folders if wanted(name)]
        return sorted(entries, key=lambda info: info["path"])

    def paths_info(self, repo: Repo, commit: Commit, paths: list[str], expand: bool) -> list[dict]:
        """The entries for `paths` that exist; like the Hub, missing paths are left out, not an error."""
        folders = folders_of(commit)
        infos = []
        for path in (path.strip("/") for path in paths):
            if path in commit.files:
                infos.append(self.file_info(repo, path, commit.files[path], expand))
            elif path in folders:
                infos.append(self.folder_info(repo, commit, path, expand))
        return infos

    def repo_info(self, repo: Repo, commit: Commit, blobs: bool) -> dict:
        """What /api/{models,datasets}/{repo_id}[/revision/{rev}] answers (the fields clients read)."""
        siblings = []
        for name, entry in sorted(commit.files.items()):
            sibling: dict = {"rfilename": name}
            if blobs:  # files_metadata=True
                sibling.update(size=entry.size, blobId=entry.oid)
                if entry.lfs:
                    pointer_size = len(lfs_pointer(entry.sha256, entry.size))
                    sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": pointer_size}
            siblings.append(sibling)
        return {
            "_id": hashlib.sha1(f"{repo.type}/{repo.id}".encode()).hexdigest()[:24],
            "id": repo.id, "author": repo.id.split("/")[0], "sha": commit.id, "private": repo.private,
            "gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [],
            "createdAt": repo.created_at, "lastModified": commit.date, "siblings": siblings,
        }


def repo_from_url(request: Request) -> tuple[str, str]:
    """(repo type, repo id) of a git-side URL: /{ns}/{name}/... for models, /datasets/{ns}/{name}/...."""
    params = request.path_params
    repo_type = "dataset" if request.scope["route"].path.startswith("/datasets/") else "model"
    return repo_type, f"{params['namespace']}/{params['name']}"


def is_authorized(request: Request) -> bool:
    return request.headers.get("authorization", "").startswith("Bearer ")


def require_token(request: Request) -> None:
    """Writes need a token, as on the Hub (any token will do here)."""
    if not is_authorized(request):
        raise HubError(401, "Invalid username or password.")


def serve_bytes(request: Request, data: bytes, headers: dict[str, str]) -> Response:
    """`data` for GET or HEAD, honouring a single-range Range header (206 + Content-Range)."""
    status, body, size = 200, data, len(data)
    headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    requested = request.headers.get("range")
    if requested:
        unsatisfiable = HubError(416, f"Range {requested} not satisfiable",
                                 headers={"Content-Range": f"bytes */{size}"})
        match = RANGE.fullmatch(requested.replace(" ", ""))
        if not match or match.groups() == ("", ""):
            raise unsatisfiable
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:  # a suffix range, bytes=-N: the last N bytes
            start, end = max(size - int(last), 0), size - 1
        if start >= size or start > end:
            raise unsatisfiable
        status, body = 206, data[start : end + 1]
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(len(body))
    return Response(b"" if request.method == "HEAD" else body, status, headers)


def create_app(hub: Hub) -> FastAPI:
    """The FastAPI app serving `hub`. Handlers are async and run on one event loop, so the state needs
    no lock: each handler reads its whole request body before it changes anything."""
    app = FastAPI(title="Hub test server", openapi_url=None)

    @app.exception_handler(HubError)
    async def hub_error(request: Request, error: HubError) -> JSONResponse:
        headers = {**error.headers, **({"X-Error-Code": error.code} if error.code else {})}
        return JSONResponse({"error": error.message}, error.status, headers)

    def api_repo(request: Request, kind: str, namespace: str, name: str) -> Repo:
        if kind not in REPO_TYPES:
            raise HubError(404, f"Unknown repo kind {kind}")
        return hub.get_repo(REPO_TYPES[kind], f"{namespace}/{name}", is_authorized(request))

    @app.post("/api/repos/create")
    async def create_repo(request: Request) -> JSONResponse:
        require_token(request)
        payload = await request.json()
        repo_type = payload.get("type") or "model"
        if repo_type not in URL_PREFIXES:
            raise HubError(400, f"This test server has no {repo_type} repos")
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        url = f"{hub.endpoint}/{URL_PREFIXES[repo_type]}{repo_id}"
        if not hub.create_repo(repo_type, repo_id, private):
            # create_repo(exist_ok=True) reads "url" from this 409 body, so it must be there.
            return JSONResponse({"error": f"You already created this {repo_type} repo", "url": url}, 409)
        return JSONResponse({"url": url, "name": repo_id})

    @app.post("/api/validate-yaml")
    async def validate_yaml(request: Request) -> dict:
        # The client validates README.md metadata here before a commit; any metadata passes.
        await request.json()
        return {"errors": [], "warnings": []}

    @app.get("/api/{kind}/{namespace}/{name}")
    @app.get("/api/{kind}/{namespace}/{name}/revision/{revision}")
    async def repo_info(request: Request, kind: str, namespace: str, name: str,
                        revision: str = "main") -> dict:
        repo = api_repo(request, kind, namespace, name)
        return hub.repo_info(repo, hub.resolve(repo, revision), is_true(request.query_params.get("blobs")))

    @app.get("/api/{kind}/{namespace}/{name}/tree/{revision}")
    @app.get("/api/{kind}/{namespace}/{name}/tree/{revision}/{path:path}")
    async def tree(request: Request, kind: str, namespace: str, name: str, revision: str,
                   path: str = "") -> JSONResponse:
        repo = api_repo(request, kind, namespace, name)
        query = request.query_params
        recursive, expand = is_true(query.get("recursive")), is_true(query.get("expand"))
        entries = hub.tree(repo, hub.resolve(repo, revision), path.strip("/"), recursive, expand)
        # Paginate like the Hub, with the next page's URL in a Link header (huggingface_hub follows it).
        page_size = EXPANDED_TREE_PAGE_SIZE if expand else TREE_PAGE_SIZE
        start = int(query.get("cursor", 0))
        headers = {}
        if start + page_size < len(entries):
            headers["Link"] = f'<{request.url.include_query_params(cursor=start + page_size)}>; rel="next"'
        return JSONResponse(entries[start : start + page_size], headers=headers)

    @app.post("/api/{kind}/{namespace}/{name}/paths-info/{revision}")
    async def paths_info(request: Request, kind: str, namespace: str, name: str, revision: str) -> list:
        repo = api_repo(request, kind, namespace, name)
        # huggingface_hub sends a form (paths=a&paths=b&expand=false); parsed by hand because
        # FastAPI's form parsing needs python-multipart.
        form = parse_qs((await request.body()).decode())
        expand = is_true(form.get("expand", [""])[0])
        return hub.paths_info(repo, hub.resolve(repo, revision), form.get("paths", []), expand)

    @app.get("/api/{kind}/{namespace}/{name}/commits/{revision}")
    async def commits(request: Request, kind: str, namespace: str, name: str, revision: str) -> list:
        repo = api_repo(request, kind, namespace, name)
        ids = list(repo.commits)
        history = ids[: ids.index(hub.resolve(repo, revision).id) + 1]
        author = [{"user": repo.id.split("/")[0]}]
        return [{"id": commit.id, "title": commit.title, "message": commit.message, "date": commit.date,
                 "authors": author} for commit in (repo.commits[id_] for id_ in reversed(history))]

    @app.post("/api/{kind}/{namespace}/{name}/preupload/{revision}")
    async def preupload(request: Request, kind: str, namespace: str, name: str, revision: str) -> dict:
        require_token(request)
        repo = api_repo(request, kind, namespace, name)
        commit = hub.resolve(repo, revision)
        files = []
        for file in (await request.json())["files"]:
            path, size, sample = file["path"], file["size"], base64.b64decode(file["sample"])
            mode = "lfs" if stored_in_lfs(path, size, sample) else "regular"
            # "oid" is how the client skips unchanged files: the sha256 for LFS files, the git blob id
            # otherwise (what CommitOperationAdd._local_oid computes).
            existing = commit.files.get(path)
            oid = None if existing is None else existing.sha256 if mode == "lfs" else existing.oid
            files.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return {"files": files, "commitOid": commit.id}

    @app.post("/api/{kind}/{namespace}/{name}/commit/{revision}")
    async def commit(request: Request, kind: str, namespace: str, name: str, revision: str) -> dict:
        require_token(request)
        repo = api_repo(request, kind, namespace, name)
        if revision != "main":
            hub.resolve(repo, revision)  # RevisionNotFound for unknown names
            raise HubError(400, f"Can only commit to main, not {revision}")
        if is_true(request.query_params.get("create_pr")):
            raise HubError(400, "This test server has no pull requests")
        lines = [json.loads(line) for line in (await request.body()).splitlines() if line.strip()]
        header = next((line["value"] for line in lines if line["key"] == "header"), {})
        new = hub.commit(repo, header, [line for line in lines if line["key"] != "header"])
        return {"success": True, "commitOid": new.id, "commitUrl": f"{hub.repo_url(repo)}/commit/{new.id}",
                "hookOutput": ""}

    @app.post("/{namespace}/{name}.git/info/lfs/objects/batch")
    @app.post("/datasets/{namespace}/{name}.git/info/lfs/objects/batch")
    async def lfs_batch(request: Request, namespace: str, name: str) -> JSONResponse:
        require_token(request)
        repo = hub.get_repo(*repo_from_url(request), authorized=True)
        payload = await request.json()
        if payload.get("operation") != "upload":
            raise HubError(400, "This test server only takes LFS uploads")
        objects = []
        for item in payload["objects"]:
            obj: dict = {"oid": item["oid"], "size": item["size"], "authenticated": True}
            if item["oid"] not in hub.blobs:  # no "actions": already stored, the client skips it
                obj["actions"] = {
                    "upload": {"href": f"{hub.storage_endpoint}/lfs/{item['oid']}"},
                    "verify": {"href": f"{hub.repo_url(repo)}.git/info/lfs/objects/verify", "header": {}},
                }
            objects.append(obj)
        body = {"transfer": "basic", "objects": objects}
        return JSONResponse(body, media_type="application/vnd.git-lfs+json")

    @app.post("/{namespace}/{name}.git/info/lfs/objects/verify")
    @app.post("/datasets/{namespace}/{name}.git/info/lfs/objects/verify")
    async def lfs_verify(request: Request, namespace: str, name: str) -> dict:
        hub.get_repo(*repo_from_url(request), authorized=is_authorized(request))
        item = await request.json()
        data = hub.blobs.get(item["oid"])
        if data is None or len(data) != item["size"]:
            raise HubError(404, f"LFS object {item['oid']} of size {item['size']} not found")
        return {"success": True}

    @app.put("/lfs/{sha256}")
    async def lfs_upload(request: Request, sha256: str) -> Response:
        # The "S3" side of a basic LFS transfer: the client PUTs the raw bytes, without a token.
        data = await request.body()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise HubError(400, f"Content does not match sha256 {sha256}")
        hub.blobs[sha256] = data
        return Response(headers={"ETag": f'"{hashlib.md5(data).hexdigest()}"'})

    @app.get("/lfs/{sha256}")
    async def lfs_download(request: Request, sha256: str) -> Response:
        if sha256 not in hub.blobs:
            raise HubError(404, f"No LFS object {sha256}")
        return serve_bytes(request, hub.blobs[sha256], {"ETag": f'"{sha256}"'})

    @app.api_route("/{namespace}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    @app.api_route("/datasets/{namespace}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    async def resolve(request: Request, namespace: str, name: str, revision: str, path: str) -> Response:
        repo = hub.get_repo(*repo_from_url(request), authorized=is_authorized(request))
        commit = hub.resolve(repo, revision)
        headers = {"X-Repo-Commit": commit.id}
        entry = commit.files.get(path)
        if entry is None:
            # X-Repo-Commit lets the client cache the file's absence (.no_exist) for that commit.
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", headers)
        headers["ETag"] = f'"{entry.oid}"'
        if not entry.lfs:
            return serve_bytes(request, hub.blobs[entry.sha256], headers)
        headers.update({
            "X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size),
            "Location": f"{hub.storage_endpoint}/lfs/{entry.sha256}",
        })
        return Response(status_code=302, headers=headers)

    return app


@contextmanager
def serve_hub(sock: socket.socket, storage_host: str = "localhost") -> Iterator[str]:
    """Serve a fresh Hub on `sock` (bound, not yet listening) in a thread; yields its endpoint URL.

    LFS content is served from `storage_host` on the same port: a different host name, so
    huggingface_hub treats it as a CDN.
    """
    host, port = sock.getsockname()[:2]
    hub = Hub(f"http://{host}:{port}", f"http://{storage_host}:{port}")
    server = uvicorn.Server(uvicorn.Config(create_app(hub), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hub-server", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the Hub test server failed to start")
        time.sleep(0.01)
    try:
        yield hub.endpoint
    finally:
        server.should_exit = True
        thread.join(timeout=10)
