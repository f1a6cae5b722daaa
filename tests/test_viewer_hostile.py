"""Bad and hostile requests get a one-line 4xx JSON error with no server path; single_profile hides the rest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import tree_digest
from tests.viewer_support import REPO, copy_built, free_port, serve, snapshot, where

S = "/api/datasets/sample/scopes/scopes-001"
HOSTILE: list[tuple[str, int]] = [
    ("/api/datasets/nope/meta", 404),
    ("/api/datasets/%2e%2e/meta", 400),
    ("/api/datasets/..%2F..%2Fetc/meta", 404),
    ("/api/datasets/%2Fetc%2Fpasswd/scopes", 404),
    ("/api/datasets/sample%00/meta", 400),
    ("/api/datasets/" + "a" * 300 + "/meta", 400),
    ("/api/datasets/sample/scopes/nope", 404),
    ("/api/datasets/sample/scopes/..%2F..%2Fmeta.json", 404),
    ("/api/datasets/sample/scopes/scopes-001.json", 404),
    ("/api/datasets/sample/scopes/nope/points", 404),
    ("/api/datasets/sample/scopes/nope/thumbnail", 404),
    ("/api/datasets/sample/tags/nope", 404),
    ("/api/datasets/sample/tags/%2e%2e", 400),
    ("/api/nope", 404),
    (S + "/rows?where=not-json", 400),
    (S + "/rows?where=" + where({"column": "nope", "op": "=", "value": 1}), 400),
    (S + "/rows?where=" + where({"column": "section", "op": "like", "value": "x"}), 400),
    (S + "/rows?where=" + where({"column": "section", "op": "=", "value": 3}), 400),
    (S + "/rows?where=" + where({"column": "x", "op": ">", "value": "big"}), 400),
    (S + "/rows?where=" + where({"column": "section", "op": "in", "value": "games"}), 400),
    (S + "/rows?where=" + where({"column": "section", "op": "contains"}), 400),
    (S + "/rows?where=" + json.dumps([{"op": "="}]), 400),
    (S + "/rows?where=" + json.dumps("[[[["), 400),
    (S + "/rows?where=" + "[" * 5000, 400),
    (S + "/rows?k=100000&q=games", 400),
    (S + "/rows?limit=100000", 400),
    (S + "/rows?limit=0", 400),
    (S + "/rows?offset=-1", 400),
    (S + "/rows?limit=abc", 400),
    (S + "/rows?cluster=abc", 400),
    (S + "/rows?cluster=1e999", 400),
    (S + "/rows?ls_index=abc", 400),
    (S + "/rows?selection=" + ",".join(str(i) for i in range(60)), 400),
    (S + "/rows?sort=nope", 400),
    (S + "/rows?sort=score", 400),
    (S + "/rows?tag=nope", 404),
    (S + "/rows?tag=..%2F..%2Fetc", 400),
    (S + "/rows?text=" + "x" * 2000, 400),
    (S + "/rows/indices?where=" + where({"column": "priority", "op": "<", "value": None}), 400),
    (S + "/search", 400),
    (S + "/search?q=games&k=0", 400),
    (S + "/search?q=games&k=1001", 400),
    (S + "/search?q=games&k=ten", 400),
    (S + "/export?format=xml", 400),
    (S + "/export?format=csv&where=bad", 400),
    (S + "/points?color_by=nope", 400),
    (S + "/points?color_by=package", 400),
    (S + "/clusters?level=5", 400),
    (S + "/clusters?level=x", 400),
    # Found by schemathesis (tests/test_viewer_fuzz.py): an empty value is a mistake to name, not the default.
    (S + "/rows?limit=", 400),
    (S + "/rows?tag=", 400),
    (S + "/clusters?level=", 400),
]


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("hostile") / "data")


@pytest.fixture(scope="module")
def base(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    before = snapshot(root)
    log = tmp_path_factory.mktemp("logs") / "viewer.log"
    with serve(root, log, LATENT_SCOPE_MAX_SELECTION="50", LATENT_SCOPE_MAX_COLOR_CATEGORIES="100") as url:
        yield url
    assert snapshot(root) == before, "the viewer wrote to the data directory"


def assert_clean_error(response: httpx.Response, status: int, root: Path) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False and body["status"] == status and "\n" not in body["error"] and body["error"]
    for leak in (str(root), str(REPO), "Traceback", "/tmp/", "/home/", "site-packages"):
        assert leak not in response.text, leak
    return body


@pytest.mark.parametrize(("url", "status"), HOSTILE, ids=[u[-60:] for u, _ in HOSTILE])
def test_hostile_input_gives_clean_4xx(base: str, root: Path, url: str, status: int) -> None:
    assert_clean_error(httpx.get(base + url, timeout=60), status, root)


DS = "/api/datasets/sample"
# Writes that would succeed with the page's token from its own origin: (method, path, JSON body or None).
GOOD_WRITES: list[tuple[str, str, Any]] = [
    ("POST", DS + "/tags", {"tag": "fresh"}),
    ("POST", DS + "/tags/favourites/rename", {"to": "renamed"}),
    ("DELETE", DS + "/tags/favourites", None),
    ("POST", S + "/tags/favourites/add", {"ls_index": [0, 3]}),
    ("POST", S + "/tags/favourites/remove", {"ls_index": [1]}),
    ("POST", DS + "/tag-history/undo", {}),
    ("POST", S + "/edits", {"op": "rename", "cluster": 0, "label": "renamed"}),
    ("POST", S + "/edits", {"op": "remove", "rows": [1, 2]}),
    ("POST", S + "/edits", {"op": "merge", "cluster": 1, "to": 0}),
    ("POST", S + "/edits/undo", {}),
]
# Each with the right token and origin, but something of the request wrong: (method, path, body, status).
BAD_WRITES: list[tuple[str, str, Any, int]] = [
    ("POST", DS + "/tags", {"tag": "../escape"}, 400),
    ("POST", DS + "/tags", {"tag": "a" * 101}, 400),
    ("POST", DS + "/tags", {"tag": "x\u0000y"}, 400),
    ("POST", DS + "/tags", {"tag": 7}, 400),
    ("POST", DS + "/tags", {"tag": "favourites"}, 409),
    ("POST", DS + "/tags", {"tag": "fresh", "extra": 1}, 400),
    ("POST", DS + "/tags", ["fresh"], 400),
    ("POST", "/api/datasets/nope/tags", {"tag": "fresh"}, 404),
    ("POST", DS + "/tags/favourites/rename", {"to": "empty"}, 409),
    ("POST", DS + "/tags/favourites/rename", {"to": "a/b"}, 400),
    ("POST", DS + "/tags/nope/rename", {"to": "other"}, 404),
    ("POST", DS + "/tags/%2e%2e/rename", {"to": "other"}, 400),
    ("DELETE", DS + "/tags/nope", None, 404),
    ("DELETE", DS + "/tags/..%2Fmeta.json", None, 404),  # no such route: %2F is a separator
    ("POST", S + "/tags/favourites/add", {"ls_index": [-1]}, 400),
    ("POST", S + "/tags/favourites/add", {"ls_index": [10**6]}, 400),
    ("POST", S + "/tags/favourites/add", {"ls_index": ["x"]}, 400),
    ("POST", S + "/tags/favourites/add", {"ls_index": [True]}, 400),
    ("POST", S + "/tags/favourites/add", {"ls_index": list(range(51))}, 400),  # over max_selection
    ("POST", S + "/tags/favourites/add", {"where": "bad"}, 400),
    ("POST", S + "/tags/favourites/add", {"nope": 1}, 400),
    ("POST", S + "/tags/nope/add", {"ls_index": [1]}, 404),
    ("POST", S + "/tags/favourites/add", {"tag": ["nope"]}, 404),
    ("POST", "/api/datasets/sample/scopes/nope/tags/favourites/add", {"ls_index": [1]}, 404),
    ("POST", DS + "/tag-history/undo", {}, 404),  # nothing to undo yet
    ("POST", S + "/edits/undo", {}, 404),  # an unedited scope
    ("POST", S + "/edits", None, 415),
    ("POST", S + "/edits", "remove", 400),
    ("POST", S + "/edits", {"op": "remove", "rows": [10**6]}, 400),
    ("POST", S + "/edits", {"op": "remove", "rows": list(range(51))}, 400),  # over max_selection
    ("POST", S + "/edits", {"op": "move", "rows": [1], "to": 10**9}, 400),
    ("POST", S + "/edits", {"op": "rename", "cluster": 0, "label": "x\u0000y"}, 400),
    ("POST", S + "/edits", {"op": "rename", "cluster": 0, "label": "x", "path": "../../etc"}, 400),
    ("POST", DS + "/scopes/..%2Fmeta/edits", {"op": "remove", "rows": [1]}, 404),
    ("POST", DS + "/scopes/scopes-001.json/edits", {"op": "remove", "rows": [1]}, 404),
    ("POST", "/api/datasets/nope/scopes/scopes-001/edits", {"op": "remove", "rows": [1]}, 404),
]


@pytest.fixture(scope="module")
def token(base: str) -> str:
    return httpx.get(base + "/api/app").json()["write_token"]


def write(base: str, method: str, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.request(method, base + path, json=body, headers=headers, timeout=60)


@pytest.mark.parametrize(("method", "path", "body"), GOOD_WRITES, ids=[f"{m} {p}" for m, p, _ in GOOD_WRITES])
def test_writes_without_the_page_token_and_origin_are_refused(
    base: str, root: Path, token: str, method: str, path: str, body: Any
) -> None:
    """CSRF (another origin, or none), a missing or wrong token, and DNS rebinding (our address under another host
    name) are all 403, and the data directory stays byte for byte as it was."""
    host = base.split("//")[1]
    before = tree_digest(root)
    refused = [
        {"origin": base},  # no token
        {"origin": base, "x-ls-token": token[:-1] + ("A" if token[-1] != "A" else "B")},
        {"x-ls-token": token},  # no Origin
        {"origin": "http://evil.example", "x-ls-token": token},
        {"origin": "null", "x-ls-token": token},
        {"origin": base.replace("127.0.0.1", "localhost.evil.example"), "x-ls-token": token},
        {"host": "rebound.example:" + host.split(":")[1], "origin": "http://rebound.example", "x-ls-token": token},
    ]
    for headers in refused:
        assert_clean_error(write(base, method, path, body, headers), 403, root)
    assert tree_digest(root) == before


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD_WRITES, ids=[f"{m} {p}" for m, p, *_ in BAD_WRITES])
def test_bad_writes_are_refused_and_change_nothing(
    base: str, root: Path, token: str, method: str, path: str, body: Any, status: int
) -> None:
    before = tree_digest(root)
    assert_clean_error(write(base, method, path, body, {"origin": base, "x-ls-token": token}), status, root)
    assert tree_digest(root) == before


def test_a_rebound_page_gets_no_token(base: str) -> None:
    assert httpx.get(base + "/api/app", headers={"host": "rebound.example"}).json()["write_token"] is None


def test_errors_name_the_problem(base: str, root: Path) -> None:
    body = assert_clean_error(httpx.get(base + S + "/rows?where=" + where({"column": "nope", "op": "="})), 400, root)
    assert "unknown column 'nope'" in body["error"] and "section" in body["error"]
    body = assert_clean_error(httpx.get(base + S + "/rows?limit=100000"), 400, root)
    assert "limit must be between 1 and 500" in body["error"]


def test_unexpected_failure_is_json_without_path(root: Path, tmp_path: Path) -> None:
    broken = tmp_path / "data"
    shutil.copytree(root, broken)
    (broken / "sample" / "scopes" / "scopes-001.parquet").write_bytes(b"not a parquet file")
    log = tmp_path / "viewer.log"
    with serve(broken, log) as url:
        response = httpx.get(url + S + "/rows")
        assert response.status_code == 500
        assert response.json() == {
            "ok": False,
            "error": "internal error in the viewer (logged on the server)",
            "status": 500,
        }
        assert str(broken) not in response.text
    assert "scopes-001.parquet" in log.read_text()  # the cause is in the server log, for the operator


def test_wrong_methods_and_an_unbuilt_frontend_answer_cleanly(root: Path, tmp_path: Path) -> None:
    """Both went to the static mount: a 500 where viewer/static/ was missing, a 405 without Allow where not."""
    with serve(root, tmp_path / "viewer.log", LATENT_SCOPE_VIEWER_STATIC=str(tmp_path / "not-built")) as url:
        page = httpx.get(url + "/datasets/sample/explore/scopes-001")
        assert page.status_code == 200 and "frontend is not built" in page.text
        for method, path in [("POST", "/api/datasets"), ("DELETE", S), ("PUT", "/"), ("PATCH", "/openapi.json")]:
            response = httpx.request(method, url + path)
            body = assert_clean_error(response, 405, root)
            assert response.headers["allow"] == "GET, HEAD" and method in body["error"], (method, path)
        assert_clean_error(httpx.post(url + "/api/nope"), 404, root)
    assert "Traceback" not in (tmp_path / "viewer.log").read_text()


def test_bad_mode_exits_with_one_line(root: Path) -> None:
    env = {"PYTHONPATH": str(REPO), "LATENT_SCOPE_APP_MODE": "single_profile", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "viewer", str(root)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "LATENT_SCOPE_PUBLIC_DATASET" in done.stderr


@pytest.fixture(scope="module")
def single(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Two datasets, the public one with two scopes; only sample/scopes-001 is public."""
    data = tmp_path_factory.mktemp("single") / "data"
    shutil.copytree(root, data)
    shutil.copytree(data / "sample", data / "secret")
    meta = json.loads((data / "secret" / "meta.json").read_text())
    (data / "secret" / "meta.json").write_text(json.dumps({**meta, "id": "secret"}))
    scopes = data / "sample" / "scopes"
    sidecar = json.loads((scopes / "scopes-001.json").read_text())
    (scopes / "scopes-002.json").write_text(json.dumps({**sidecar, "id": "scopes-002", "label": "hidden"}))
    shutil.copy(scopes / "scopes-001.parquet", scopes / "scopes-002.parquet")
    env = {
        "LATENT_SCOPE_APP_MODE": "single_profile",
        "LATENT_SCOPE_PUBLIC_DATASET": "sample",
        "LATENT_SCOPE_PUBLIC_SCOPE": "scopes-001",
    }
    with serve(data, tmp_path_factory.mktemp("logs") / "single.log", **env) as url:
        yield url, data


def test_single_profile_shows_only_the_public_scope(single: tuple[str, Path]) -> None:
    url, _ = single
    info = httpx.get(url + "/api/app").json()
    assert info["mode"] == "single_profile" and (info["public_dataset"], info["public_scope"]) == (
        "sample",
        "scopes-001",
    )
    assert [d["id"] for d in httpx.get(url + "/api/datasets").json()] == ["sample"]
    assert [s["id"] for s in httpx.get(url + "/api/datasets/sample/scopes").json()] == ["scopes-001"]
    assert httpx.get(url + S + "/rows").json()["total"] > 0
    assert httpx.get(url + S + "/points").status_code == 200


HIDDEN = [
    "/api/datasets/secret/meta",
    "/api/datasets/secret/scopes",
    "/api/datasets/secret/tags",
    "/api/datasets/secret/tags/favourites",
    "/api/datasets/secret/scopes/scopes-001",
    "/api/datasets/secret/scopes/scopes-001/points",
    "/api/datasets/secret/scopes/scopes-001/rows",
    "/api/datasets/secret/scopes/scopes-001/search?q=games",
    "/api/datasets/secret/scopes/scopes-001/export?format=csv",
    "/api/datasets/sample/scopes/scopes-002",
    "/api/datasets/sample/scopes/scopes-002/points",
    "/api/datasets/sample/scopes/scopes-002/clusters",
    "/api/datasets/sample/scopes/scopes-002/thumbnail",
    "/api/datasets/sample/scopes/scopes-002/rows?cluster=1",
    "/api/datasets/sample/scopes/scopes-002/rows/indices",
    "/api/datasets/sample/scopes/scopes-002/search?q=games",
    "/api/datasets/sample/scopes/scopes-002/export?format=parquet",
]


@pytest.mark.parametrize("path", HIDDEN)
def test_single_profile_hides_everything_else(single: tuple[str, Path], path: str) -> None:
    url, data = single
    body = assert_clean_error(httpx.get(url + path, timeout=60), 404, data)
    # The message must not reveal what else exists.
    listed = body["error"].replace(path.split("/")[3], "").replace("scopes-002", "")
    assert "secret" not in listed and "scopes-002" not in listed


def test_ls_serve_serves_and_refuses_a_missing_folder(root: Path, tmp_path: Path) -> None:
    entry = "import sys; from ls_pipeline.cli import serve_main; sys.argv[0] = 'ls-serve'; serve_main()"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    missing = subprocess.run(
        [sys.executable, "-c", entry, str(tmp_path / "typo")], env=env, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "does not exist" in missing.stdout + missing.stderr
    assert not (tmp_path / "typo").exists()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", entry, str(root), "--port", str(port)], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/datasets", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert [d["id"] for d in response.json()] == ["sample"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
