"""Studio mode's tag edits over a copy of the built data: each edit's .indices file (Latent Scope's format) and
history entry on disk, undo step by step back to the start, and a delete that loses nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.viewer_support import TAGS, copy_built, studio_client

DS = "/api/datasets/sample"
SCOPE = DS + "/scopes/scopes-001"


@pytest.fixture()
def root(built_data: dict[str, Any], tmp_path: Path) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path / "data")


@pytest.fixture()
def client(root: Path) -> Iterator[httpx.Client]:
    with studio_client(root, LATENT_SCOPE_MAX_SELECTION="100") as http:
        yield http


def on_disk(root: Path, tag: str) -> list[int] | None:
    path = root / "sample" / "tags" / f"{tag}.indices"
    return [int(line) for line in path.read_text().splitlines()] if path.exists() else None


def history(root: Path) -> list[dict[str, Any]]:
    lines = (root / "sample" / "tags" / "_history.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def test_app_gives_the_studio_page_its_token(client: httpx.Client) -> None:
    app = client.get("/api/app").json()
    assert app["mode"] == "studio" and app["tag_edits"] is True and len(app["write_token"]) >= 32
    # A page that reached this server under another host name (DNS rebinding) gets no token.
    assert client.get("/api/app", headers={"host": "evil.example:80"}).json()["write_token"] is None


def test_create_add_remove_rename_delete_and_undo(client: httpx.Client, root: Path) -> None:
    assert ok(client.post(DS + "/tags", json={"tag": "keep"}), 201)["counts"] == {"keep": 0}
    assert on_disk(root, "keep") == []
    added = ok(client.post(SCOPE + "/tags/keep/add", json={"ls_index": [9, 3, 7, 3]}))
    assert added["added"] == [3, 7, 9] and added["counts"] == {"keep": 3}
    assert (root / "sample" / "tags" / "keep.indices").read_text() == "3\n7\n9\n"  # Latent Scope's format
    ok(client.post(SCOPE + "/tags/keep/add", json={"tag": ["firsts"], "cluster": []}))  # what the filters match
    assert on_disk(root, "keep") == sorted(set(TAGS["firsts"]) | {3, 7, 9})
    removed = ok(client.post(SCOPE + "/tags/keep/remove", json={"ls_index": list(range(5, 40))}))
    assert removed["removed"] == [5, 6, 7, 8, 9, *range(10, 30)] and on_disk(root, "keep") == [0, 1, 2, 3, 4]
    ok(client.post(DS + "/tags/keep/rename", json={"to": "kept"}))
    assert on_disk(root, "keep") is None and on_disk(root, "kept") == [0, 1, 2, 3, 4]
    assert client.get(SCOPE + "/rows/indices", params={"tag": "kept"}).json()["indices"] == [0, 1, 2, 3, 4]
    ok(client.delete(DS + "/tags/kept"))
    assert on_disk(root, "kept") is None
    ops = [(e["op"], e["tag"]) for e in history(root)]
    assert ops == [("create", "keep"), ("change", "keep"), ("change", "keep"), ("change", "keep")] + [
        ("rename", "keep"),
        ("delete", "kept"),
    ]
    assert history(root)[-1]["before"] == {"kept": [0, 1, 2, 3, 4]}  # the deleted rows are kept
    assert all(e["at"].endswith("+00:00") for e in history(root))
    # Undo walks back one edit at a time, each itself an entry of the history.
    ok(client.post(DS + "/tag-history/undo", json={}))
    assert on_disk(root, "kept") == [0, 1, 2, 3, 4]
    ok(client.post(DS + "/tag-history/undo", json={}))
    assert on_disk(root, "kept") is None and on_disk(root, "keep") == [0, 1, 2, 3, 4]
    for _ in range(4):
        ok(client.post(DS + "/tag-history/undo", json={}))
    assert on_disk(root, "keep") is None
    assert ok(client.post(DS + "/tag-history/undo", json={}), 404)["ok"] is False  # nothing left to undo
    listed = ok(client.get(DS + "/tag-history"))
    assert len(listed) == 12 and listed[-1]["op"] == "undo" and listed[-1]["undoes"] == 1
    assert "before" not in listed[0]
    assert sorted(p.name for p in (root / "sample" / "tags").iterdir() if p.suffix == ".indices") == [
        f"{t}.indices" for t in sorted(TAGS)
    ]


def test_existing_tags_edit_in_place(client: httpx.Client, root: Path) -> None:
    ok(client.post(SCOPE + "/tags/favourites/add", json={"ls_index": [0]}))
    assert on_disk(root, "favourites") == sorted([0, *TAGS["favourites"]])
    assert history(root)[0]["before"] == {"favourites": TAGS["favourites"]}


def test_undo_refuses_when_the_file_changed_outside(client: httpx.Client, root: Path) -> None:
    ok(client.post(SCOPE + "/tags/empty/add", json={"ls_index": [1]}))
    (root / "sample" / "tags" / "empty.indices").write_text("1\n2\n")  # a hand edit since
    assert ok(client.post(DS + "/tag-history/undo", json={}), 409)["ok"] is False
    assert on_disk(root, "empty") == [1, 2]
