"""The viewer serving a data directory on object storage: the pipeline's scope uploaded to a bucket of the moto S3
server, served from s3:// in process, answers exactly what the same files answer from a local folder; a search
does not fetch the embedding file per query; repeated requests ask the store nothing within the metadata TTL, and
this server's own writes are seen at once; tag edits write through to the bucket; a store that goes away mid-serve
is a 503 with a JSON message once the kept answers expire."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import s3fs

from ls_pipeline.sources import tweets_json, twitter
from ls_pipeline.store.local_copies import CacheTooSmall, LocalCopies
from ls_pipeline.store.location import parse_root
from ls_pipeline.store.metadata_cache import CachingS3FileSystem
from tests.s3_support import S3Server, aws_settings, start_s3_server
from tests.viewer_support import REPO, TAGS, copy_built, free_port, in_process, wait_until_responds
from tests.x_archives import TWEETS, write_zip

DS = "/api/datasets/sample"
SCOPE = DS + "/scopes/scopes-001"
EMBEDDING_KEY = "data/sample/embeddings/"
JSON_TYPE = {"content-type": "application/json"}


def upload(local: Path, server: S3Server) -> str:
    """The local data directory copied key for key into a fresh bucket; its s3:// URL."""
    bucket = server.new_bucket()
    root = parse_root(f"s3://{bucket}/data")
    root.fs.put(f"{local}/", f"{bucket}/data/", recursive=True)
    assert len(server.keys(bucket)) == sum(1 for p in local.rglob("*") if p.is_file())
    return f"s3://{bucket}/data"


@pytest.fixture(scope="module")
def aws(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with aws_settings(s3_server, tmp_path_factory.mktemp("scratch")) as server:
        yield server


@pytest.fixture(scope="module")
def local_root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("s3view") / "data")


@pytest.fixture(scope="module")
def s3_url(local_root: Path, aws: S3Server) -> str:
    return upload(local_root, aws)


@pytest.fixture(scope="module")
def local(local_root: Path) -> Iterator[httpx.Client]:
    with in_process(local_root) as http:
        yield http


@pytest.fixture(scope="module")
def remote(s3_url: str) -> Iterator[httpx.Client]:
    with in_process(s3_url, LATENT_SCOPE_APP_MODE="studio") as http:
        yield http


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.headers["content-type"].startswith("application/json") else response.content


def both(local: httpx.Client, remote: httpx.Client, method: str, url: str, **kwargs: Any) -> Any:
    """The same request to both servers; the answers must be equal."""
    mine, theirs = ok(local.request(method, url, **kwargs)), ok(remote.request(method, url, **kwargs))
    assert theirs == mine, url
    return theirs


def test_catalog_is_the_same(local: httpx.Client, remote: httpx.Client) -> None:
    assert [d["id"] for d in both(local, remote, "GET", "/api/datasets")] == ["sample"]
    both(local, remote, "GET", DS + "/meta")
    assert [s["id"] for s in both(local, remote, "GET", DS + "/scopes")] == ["scopes-001"]
    both(local, remote, "GET", SCOPE)
    assert len(both(local, remote, "GET", SCOPE + "/clusters")) > 1
    assert both(local, remote, "GET", SCOPE + "/thumbnail")[:8] == b"\x89PNG\r\n\x1a\n"
    tags = both(local, remote, "GET", DS + "/tags")
    assert tags == [{"tag": name, "count": len(values)} for name, values in sorted(TAGS.items())]
    assert both(local, remote, "GET", DS + "/tags/favourites")["indices"] == TAGS["favourites"]
    missing = remote.get(DS + "/scopes/scopes-999")
    assert missing.status_code == 404 and missing.json()["ok"] is False


def test_points_rows_and_export_are_the_same(local: httpx.Client, remote: httpx.Client) -> None:
    assert len(both(local, remote, "GET", SCOPE + "/points")) > 300 * 16
    both(local, remote, "GET", SCOPE + "/points", params={"color_by": "section"})
    page = both(local, remote, "GET", SCOPE + "/rows", params={"limit": 40, "sort": "package"})
    assert page["total"] == 300 and len(page["rows"]) == 40
    where = json.dumps([{"column": "priority", "op": "=", "value": "optional"}])
    filtered = both(local, remote, "GET", SCOPE + "/rows", params={"where": where, "text": "data", "tag": "firsts"})
    assert 0 < filtered["total"] < 30
    chosen = both(local, remote, "POST", SCOPE + "/rows", json={"ls_index": [3, 1, 4, 159], "limit": 10})
    assert [r["ls_index"] for r in chosen["rows"]] == [1, 3, 4, 159]
    for fmt in ("csv", "parquet", "jsonl"):
        body = both(local, remote, "GET", SCOPE + "/export", params={"format": fmt, "tag": "favourites"})
        assert len(body) > 100


def test_search_and_neighbors_are_the_same(local: httpx.Client, remote: httpx.Client) -> None:
    hits = both(local, remote, "GET", SCOPE + "/search", params={"q": "a text editor for programmers", "k": 15})
    assert len(hits["results"]) == 15 and hits["results"][0]["score"] > 0.3
    rows = both(local, remote, "GET", SCOPE + "/rows", params={"q": "network tools", "k": 20, "limit": 50})
    assert rows["total"] == 20
    near = both(local, remote, "GET", SCOPE + "/neighbors", params={"ls_index": 42, "k": 8})
    assert near["results"][0]["ls_index"] == 42


def recorded_gets(server: S3Server, bucket: str, key_prefix: str) -> list[str | None]:
    """The Range header (None: the whole object) of every GET of the recorded requests under bucket/key_prefix."""
    log = httpx.get(server.endpoint + "/moto-api/recorder/download-recording").text
    out = []
    for line in log.splitlines():
        entry = json.loads(line)
        path = urllib.parse.urlparse(entry["url"]).path
        if entry["method"] == "GET" and urllib.parse.unquote(path).startswith(f"/{bucket}/{key_prefix}"):
            out.append({k.lower(): v for k, v in entry["headers"].items()}.get("range"))
    return out


def test_a_search_does_not_fetch_the_embedding_per_query(s3_url: str, aws: S3Server) -> None:
    """The first search of a scope copies its embedding file once; later queries read no byte of it from the store."""
    bucket = urllib.parse.urlparse(s3_url).netloc
    httpx.post(aws.endpoint + "/moto-api/recorder/reset-recording")
    httpx.post(aws.endpoint + "/moto-api/recorder/start-recording")
    try:
        with in_process(s3_url) as http:
            ok(http.get(SCOPE + "/search", params={"q": "first query", "k": 5}))
            first = recorded_gets(aws, bucket, EMBEDDING_KEY)
            for q in ("image viewer", "python library", "kernel module", "fonts", "database server"):
                ok(http.get(SCOPE + "/search", params={"q": q, "k": 5}))
            ok(http.get(SCOPE + "/neighbors", params={"ls_index": 7, "k": 5}))
            later = recorded_gets(aws, bucket, EMBEDDING_KEY)
    finally:
        httpx.post(aws.endpoint + "/moto-api/recorder/stop-recording")
    assert len(first) == 1, first  # one whole-file copy made by the first search
    assert later == first, "a later query read the embedding file from the store again"


@contextlib.contextmanager
def recording(server: S3Server, bucket: str) -> Iterator[Callable[[], list[str]]]:
    """Meanwhile moto records every request; the callable gives "METHOD key" (LIST prefix for a listing) of those
    made to `bucket` so far."""
    httpx.post(server.endpoint + "/moto-api/recorder/reset-recording")
    httpx.post(server.endpoint + "/moto-api/recorder/start-recording")

    def made() -> list[str]:
        out = []
        for line in httpx.get(server.endpoint + "/moto-api/recorder/download-recording").text.splitlines():
            entry = json.loads(line)
            url = urllib.parse.urlparse(entry["url"])
            path, query = urllib.parse.unquote(url.path), urllib.parse.parse_qs(url.query)
            if not path.startswith(f"/{bucket}"):
                continue
            key = path.removeprefix(f"/{bucket}").lstrip("/")
            out.append(f"LIST {query['prefix'][0]}" if "prefix" in query else f"{entry['method']} {key}")
        return out

    try:
        yield made
    finally:
        httpx.post(server.endpoint + "/moto-api/recorder/stop-recording")


# Every read route of a scope's page (the search twice: its first run fetches the embedding copy).
READ_ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("/api/datasets", {}),
    (DS + "/meta", {}),
    (DS + "/scopes", {}),
    (SCOPE, {}),
    (SCOPE + "/clusters", {}),
    (SCOPE + "/points", {}),
    (SCOPE + "/rows", {"limit": 20}),
    (SCOPE + "/rows", {"limit": 20, "tag": "favourites"}),
    (SCOPE + "/search", {"q": "a text editor", "k": 5}),
    (SCOPE + "/neighbors", {"ls_index": 3, "k": 5}),
    (DS + "/tags", {}),
    (DS + "/tags/favourites", {}),
]


def requests_per_route(http: httpx.Client, server: S3Server, bucket: str) -> dict[str, list[str]]:
    made = {}
    for route, params in READ_ROUTES:
        with recording(server, bucket) as so_far:
            ok(http.get(route, params=params))
            made[f"{route} {params}"] = so_far()
    return made


@pytest.mark.parametrize("ttl", ["0", "60"])
def test_repeated_requests_ask_the_store_nothing_within_the_ttl(ttl: str, s3_url: str, aws: S3Server) -> None:
    """With no TTL every request asks the store again (meta.json, the scopes listing, each cache key's ETag ...);
    within the TTL (60 s here, far longer than the test) a repeat asks nothing."""
    bucket = urllib.parse.urlparse(s3_url).netloc
    with in_process(s3_url, LATENT_SCOPE_STORE_METADATA_TTL_SEC=ttl) as http:
        requests_per_route(http, aws, bucket)  # the first answers: files read, copies made, answers kept
        repeats = requests_per_route(http, aws, bucket)
    if ttl == "0":
        assert all(repeats.values()), repeats
        assert all("GET data/sample/embeddings/embedding-001.h5" not in made for made in repeats.values())
    else:
        assert repeats == {route: [] for route in repeats}


def served_fs(http: httpx.Client) -> CachingS3FileSystem:
    fs = http.app.state.catalog.data.root.fs  # type: ignore[attr-defined]
    assert isinstance(fs, CachingS3FileSystem)
    return fs


def test_this_servers_writes_are_seen_at_once_another_writers_within_the_ttl(local_root: Path, aws: S3Server) -> None:
    url = upload(local_root, aws)
    root = parse_root(url)  # another writer: a client of this test's own
    with in_process(url, LATENT_SCOPE_STORE_METADATA_TTL_SEC="60") as http:
        token = ok(http.get("/api/app"))["write_token"]
        http.headers.update({"origin": "http://127.0.0.1", "x-ls-token": token})
        assert {t["tag"] for t in ok(http.get(DS + "/tags"))} == set(TAGS)
        assert http.post(DS + "/tags", json={"tag": "keep"}).status_code == 201
        assert {t["tag"] for t in ok(http.get(DS + "/tags"))} == {*TAGS, "keep"}
        ok(http.post(SCOPE + "/tags/keep/add", json={"ls_index": [9, 3, 7]}))
        assert ok(http.get(SCOPE + "/rows/indices", params={"tag": "keep"}))["indices"] == [3, 7, 9]
        scopes = [s["id"] for s in ok(http.get(DS + "/scopes"))]
        edited = http.post(SCOPE + "/edits", json={"op": "rename", "cluster": 0, "label": "renamed here"})
        assert edited.status_code == 201, edited.text
        assert [s["id"] for s in ok(http.get(DS + "/scopes"))] == [*scopes, edited.json()["scope"]]

        ok(http.get(DS + "/tags"))  # kept from now on
        root.fs.pipe_file(f"{root.path}/sample/tags/elsewhere.indices", b"1\n2\n")
        assert "elsewhere" not in {t["tag"] for t in ok(http.get(DS + "/tags"))}  # the trade: not yet
        fs = served_fs(http)
        fs.answers.clock = lambda: time.monotonic() + 61  # the TTL has passed
        assert "elsewhere" in {t["tag"] for t in ok(http.get(DS + "/tags"))}


def test_a_local_folder_keeps_no_answers(local_root: Path) -> None:
    with in_process(local_root, LATENT_SCOPE_STORE_METADATA_TTL_SEC="60") as http:
        catalog = http.app.state.catalog  # type: ignore[attr-defined]
        assert isinstance(catalog.data.root, Path) and catalog.writes is catalog.data


def test_local_copies_stay_within_their_bound(s3_url: str, aws: S3Server, tmp_path: Path) -> None:
    root = parse_root(s3_url)
    files = sorted(p for p in (root / "sample").rglob("*") if p.is_file() and p.suffix in (".parquet", ".h5"))
    sizes = [p.stat().st_size for p in files]
    copies = LocalCopies(max(sizes) + min(sizes), tmp_path / "copies")
    for path in files:
        local = copies.local(path)
        assert local.read_bytes() == path.read_bytes()
        assert copies.used_bytes <= copies.max_bytes
        assert sum(p.stat().st_size for p in (tmp_path / "copies").iterdir()) <= copies.max_bytes
    assert copies.local(files[-1]) == local  # the newest copy is kept, not fetched again
    with pytest.raises(CacheTooSmall, match="raise it"):
        LocalCopies(max(sizes) - 1, tmp_path / "small").local(files[int(np.argmax(sizes))])


def test_tag_edits_in_studio_mode_write_to_the_bucket(local_root: Path, aws: S3Server) -> None:
    url = upload(local_root, aws)
    root = parse_root(url)
    with in_process(url) as http:
        token = ok(http.get("/api/app"))["write_token"]
        http.headers.update({"origin": "http://127.0.0.1", "x-ls-token": token})
        assert http.post(DS + "/tags", json={"tag": "keep"}).status_code == 201
        ok(http.post(SCOPE + "/tags/keep/add", json={"ls_index": [9, 3, 7]}))
        assert (root / "sample" / "tags" / "keep.indices").read_text() == "3\n7\n9\n"
        assert ok(http.get(SCOPE + "/rows/indices", params={"tag": "keep"}))["indices"] == [3, 7, 9]
        ok(http.post(DS + "/tag-history/undo", json={}))
        assert ok(http.get(DS + "/tags/keep"))["indices"] == []
    history = (root / "sample" / "tags" / "_history.jsonl").read_text().splitlines()
    assert [json.loads(line)["op"] for line in history] == ["create", "change", "undo"]


def test_an_x_import_upload_in_hosted_mode_lands_in_the_buckets_inbox(
    local_root: Path, aws: S3Server, tmp_path: Path
) -> None:
    url = upload(local_root, aws)
    root = parse_root(url)
    body = tweets_json.dumps(twitter.read_zip(write_zip(tmp_path / "a.zip", TWEETS)))
    with in_process(url, LATENT_SCOPE_APP_MODE="hosted") as http:
        answer = http.post("/api/imports", params={"name": "alice"}, content=body, headers=JSON_TYPE)
        assert answer.status_code == 202, answer.text
        assert answer.json()["rows"] == len(TWEETS)
        assert ok(http.get("/api/imports/alice"))["state"] == "queued"
        refused = http.post("/api/imports", params={"name": "alice"}, content=body, headers=JSON_TYPE)
        assert refused.status_code == 403 and "secret" in refused.json()["error"]  # the first upload owns the name
    assert (root / "_inbox" / "alice.tweets.json").read_bytes() == body
    assert [p.name for p in (root / "_inbox").iterdir() if p.is_file()] == ["alice.tweets.json"]  # nothing partial


def test_the_store_going_away_is_a_clean_503(local_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    process, server = start_s3_server()  # a store of this test's own, to stop halfway
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        s3fs.S3FileSystem.clear_instance_cache()
        url = upload(local_root, server)
        with in_process(url) as http:
            ok(http.get(SCOPE + "/rows", params={"limit": 5}))
            process.kill()
            process.wait()
            served_fs(http).answers.clock = lambda: time.monotonic() + 61  # the kept answers have expired
            for route in ("/api/datasets", SCOPE, SCOPE + "/rows"):  # each answer waits out the client's retries
                answer = http.get(route)
                assert answer.status_code == 503, (route, answer.text)
                body = answer.json()
                assert body["ok"] is False and "data store cannot be reached" in body["error"]
                assert "Traceback" not in answer.text and server.endpoint not in answer.text
                assert server.secret not in answer.text and urllib.parse.urlparse(url).netloc not in answer.text
    finally:
        process.kill()
        s3fs.S3FileSystem.clear_instance_cache()


@pytest.mark.parametrize("command", ["python -m viewer", "ls-serve"])
def test_the_commands_serve_an_s3_url(command: str, s3_url: str, aws: S3Server, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "viewer.log"
    env = {**aws.env(), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PATH": str(Path(sys.executable).parent)}
    start = (
        [sys.executable, "-m", "viewer"]
        if command == "python -m viewer"
        else [str(Path(sys.executable).parent / command)]
    )
    with open(log, "wb") as sink:
        proc = subprocess.Popen([*start, s3_url, "--port", str(port)], env=env, stdout=sink, stderr=sink, cwd=tmp_path)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_responds(base + "/api/app", proc, log)
            assert [d["id"] for d in httpx.get(base + "/api/datasets").json()] == ["sample"]
            hits = httpx.get(base + SCOPE + "/search", params={"q": "web browser", "k": 3}, timeout=60).json()
            assert len(hits["results"]) == 3
        finally:
            proc.terminate()
            proc.wait(timeout=20)
