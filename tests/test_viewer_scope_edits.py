"""Studio mode's scope edits over a copy of the built data: each edit a new scope version (and, for a rename, move
or merge, a new labels artifact) beside every earlier one, the files on disk asserted after each; removed rows
hidden from map, table, search and export unless asked for; undo step by step; the cluster-overlap table."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pytest

from tests.helpers import tree_digest
from tests.viewer_support import copy_built, studio_client

DS = "/api/datasets/sample"


@pytest.fixture()
def root(built_data: dict[str, Any], tmp_path: Path) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path / "data")


@pytest.fixture()
def client(root: Path) -> Iterator[httpx.Client]:
    with studio_client(root, LATENT_SCOPE_MAX_SELECTION="100") as http:
        yield http


def scope_files(root: Path, scope_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    folder = root / "sample" / "scopes"
    return json.loads((folder / f"{scope_id}.json").read_text()), pd.read_parquet(folder / f"{scope_id}.parquet")


def labels_files(root: Path, labels_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    folder = root / "sample" / "clusters"
    return json.loads((folder / f"{labels_id}.json").read_text()), pd.read_parquet(folder / f"{labels_id}.parquet")


def edit(client: httpx.Client, scope_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{DS}/scopes/{scope_id}/edits", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_rename_move_merge_remove_and_undo_each_write_a_new_version(client: httpx.Client, root: Path) -> None:
    first_sidecar, first_rows = scope_files(root, "scopes-001")
    before = tree_digest(root)
    labels_id = first_sidecar["cluster_labels_id"]
    clusters = sorted(first_rows["cluster"].unique().tolist())
    a, b = clusters[0], clusters[1]

    renamed = edit(client, "scopes-001", {"op": "rename", "cluster": a, "label": "Games", "description": "fun"})
    sidecar, rows = scope_files(root, renamed["scope"])
    assert renamed["scope"] == "scopes-002" and sidecar["edited_from"] == "scopes-001"
    assert sidecar["edit"]["op"] == "rename" and sidecar["cluster_labels_id"] != labels_id
    assert set(rows.loc[rows["cluster"] == a, "label"]) == {"Games"} and not rows["deleted"].any()
    new_labels, table = labels_files(root, sidecar["cluster_labels_id"])
    assert new_labels["edited_from"] == labels_id and new_labels["edits"][0]["label"] == "Games"
    assert table.set_index("cluster").loc[a, "description"] == "fun"
    # Nothing earlier changed: every file there before is there, byte for byte.
    assert {k: v for k, v in tree_digest(root).items() if k in before} == before

    moved_rows = first_rows.index[first_rows["cluster"] == b][:3].tolist()
    moved = edit(client, "scopes-002", {"op": "move", "rows": moved_rows, "to": a})
    _, rows = scope_files(root, moved["scope"])
    assert set(rows.loc[moved_rows, "cluster"]) == {a} and set(rows.loc[moved_rows, "label"]) == {"Games"}
    _, table = labels_files(root, moved["labels_id"])
    counts = table.set_index("cluster")["count"]
    assert counts[a] == (first_rows["cluster"] == a).sum() + 3 and counts[b] == (first_rows["cluster"] == b).sum() - 3

    merged = edit(client, moved["scope"], {"op": "merge", "cluster": b, "to": a})
    _, rows = scope_files(root, merged["scope"])
    _, table = labels_files(root, merged["labels_id"])
    assert b not in set(rows["cluster"]) and b not in set(table["cluster"])
    clusters_now = client.get(f"{DS}/scopes/{merged['scope']}/clusters").json()
    assert b not in {c["cluster"] for c in clusters_now}

    removed = edit(client, merged["scope"], {"op": "remove", "rows": [0, 1, 2]})
    sidecar, rows = scope_files(root, removed["scope"])
    assert rows["deleted"].tolist()[:4] == [True, True, True, False] and len(rows) == len(first_rows)
    assert sidecar["cluster_labels_id"] == merged["labels_id"] and sidecar["removed"] == 3
    assert [e["op"] for e in sidecar["edits"]] == ["rename", "move", "merge", "remove"]
    assert_removed_hidden(client, removed["scope"], {0, 1, 2}, len(first_rows))

    versions = client.get(f"{DS}/scopes/{removed['scope']}/versions").json()
    assert [v["id"] for v in versions] == ["scopes-001", "scopes-002", "scopes-003", "scopes-004", "scopes-005"]

    # Undo restores the version before the last edit, as a new version; undo again goes one further back.
    undone = client.post(f"{DS}/scopes/{removed['scope']}/edits/undo", json={}).json()
    sidecar, rows = scope_files(root, undone["scope"])
    assert sidecar["edit"]["restores"] == merged["scope"] and not rows["deleted"].any()
    again = client.post(f"{DS}/scopes/{undone['scope']}/edits/undo", json={}).json()
    sidecar, rows = scope_files(root, again["scope"])
    assert sidecar["edit"]["restores"] == moved["scope"] and b in set(rows["cluster"])
    for scope_id in ("scopes-002", "scopes-003", "scopes-004", "scopes-005"):  # every earlier version stays
        assert (root / "sample" / "scopes" / f"{scope_id}.parquet").is_file()


def assert_removed_hidden(client: httpx.Client, scope_id: str, removed: set[int], length: int) -> None:
    s = f"{DS}/scopes/{scope_id}"
    points = pa.ipc.open_stream(io.BytesIO(client.get(s + "/points").content)).read_all()
    assert len(points) == length - len(removed) and not removed & set(points.column("ls_index").to_pylist())
    every = pa.ipc.open_stream(io.BytesIO(client.get(s + "/points?include_removed=true").content)).read_all()
    assert len(every) == length
    page = client.get(s + "/rows", params={"limit": 10}).json()
    assert page["total"] == length - len(removed) and page["rows"][0]["ls_index"] == 3
    assert client.get(s + "/rows", params={"include_removed": "true"}).json()["total"] == length
    found = client.post(s + "/rows/indices", json={"ls_index": [0, 1, 5]}).json()["indices"]
    assert found == [5]
    exported = pd.read_csv(io.BytesIO(client.get(s + "/export").content))
    assert len(exported) == length - len(removed) and not removed & set(exported["ls_index"])
    flagged = pd.read_csv(io.BytesIO(client.get(s + "/export?include_removed=true").content))
    assert flagged.loc[flagged["ls_index"].isin(removed), "ls_removed"].all() and len(flagged) == length
    hits = client.get(s + "/neighbors", params={"ls_index": 0, "k": 10}).json()["results"]
    assert hits and not removed & {h["ls_index"] for h in hits}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"op": "explode"}, 400),
        ({"op": "rename", "cluster": 0}, 400),
        ({"op": "rename", "cluster": 999, "label": "x"}, 400),
        ({"op": "rename", "cluster": 0, "label": "   "}, 400),
        ({"op": "rename", "cluster": 0, "label": "x" * 201}, 400),
        ({"op": "rename", "cluster": True, "label": "x"}, 400),
        ({"op": "move", "rows": [10**6], "to": 0}, 400),
        ({"op": "move", "rows": [-1], "to": 0}, 400),
        ({"op": "move", "rows": list(range(101)), "to": 0}, 400),
        ({"op": "move", "rows": [1], "to": "0"}, 400),
        ({"op": "move", "rows": [], "to": 0}, 400),
        ({"op": "merge", "cluster": 0, "to": 0}, 400),
        ({"op": "remove", "rows": ["1"]}, 400),
        ({"op": "remove", "rows": [1], "extra": 2}, 400),
        (["remove"], 400),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    client: httpx.Client, root: Path, body: dict[str, Any], status: int
) -> None:
    before = tree_digest(root)
    response = client.post(f"{DS}/scopes/scopes-001/edits", json=body)
    assert response.status_code == status and response.json()["ok"] is False, response.text
    assert "/" not in response.json()["error"].replace("/api", "")
    assert tree_digest(root) == before


def test_undo_of_an_unedited_scope_is_refused(client: httpx.Client, root: Path) -> None:
    before = tree_digest(root)
    assert client.post(f"{DS}/scopes/scopes-001/edits/undo", json={}).status_code == 404
    assert client.post(f"{DS}/scopes/nope/edits", json={"op": "remove", "rows": [1]}).status_code == 404
    assert tree_digest(root) == before


def test_compare_counts_which_clusters_became_which(client: httpx.Client, root: Path) -> None:
    _, first = scope_files(root, "scopes-001")
    a, b = sorted(first["cluster"].unique().tolist())[:2]
    merged = edit(client, "scopes-001", {"op": "merge", "cluster": b, "to": a})
    table = client.get(f"{DS}/scopes/scopes-001/compare/{merged['scope']}").json()
    pairs = {(p["a"], p["b"]): p for p in table["pairs"]}
    size_a, size_b = int((first["cluster"] == a).sum()), int((first["cluster"] == b).sum())
    assert pairs[(a, a)]["overlap"] == size_a and pairs[(b, a)]["overlap"] == size_b
    assert pairs[(a, a)]["jaccard"] == round(size_a / (size_a + size_b), 4)
    assert all(p["jaccard"] == 1.0 for (ca, cb), p in pairs.items() if ca not in (a, b))
    assert sum(p["overlap"] for p in table["pairs"]) == len(first) == table["rows"]
    best = {m["a"]: m["b"] for m in table["best"]}
    assert best[b] == a
