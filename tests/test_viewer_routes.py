"""The viewer as a real uvicorn server over a pipeline-built data directory: every route, filters combined,
exact search ranking, export round-trips, the static frontend, and no writes to the data directory."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.viewer_support import TAGS, copy_built, in_process, joined_rows, serve, snapshot, where

SCOPE = "/api/datasets/sample/scopes/scopes-001"


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("viewer") / "data")


@pytest.fixture(scope="module")
def client(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    before = snapshot(root)
    with in_process(root, LATENT_SCOPE_MAX_SELECTION="50") as http:
        yield http
    assert snapshot(root) == before, "the viewer wrote to the data directory"


@pytest.fixture(scope="module")
def expected(root: Path) -> pd.DataFrame:
    return joined_rows(root / "sample")


def get_json(client: httpx.Client, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def all_rows(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` through every page."""
    out, offset = [], 0
    while offset is not None:
        page = get_json(client, SCOPE + "/rows", offset=offset, limit=37, **params)
        out += page["rows"]
        offset = page["next"]
    return out


def test_instance_and_datasets(client: httpx.Client, root: Path) -> None:
    app = get_json(client, "/api/app")
    assert app == {
        "mode": "studio",
        "read_only": False,
        "tag_edits": True,
        "scope_edits": True,
        "write_token": app["write_token"],
        "imports": False,
        "max_upload_mb": None,
        "public_dataset": None,
        "public_scope": None,
        "version": app["version"],
    }
    assert get_json(client, "/api/app")["write_token"] == app["write_token"]  # one per server
    assert any(m["id"] == "sentence-transformers/all-MiniLM-L6-v2" for m in get_json(client, "/api/models"))
    on_disk = json.loads((root / "sample" / "meta.json").read_text())
    assert get_json(client, "/api/datasets") == [on_disk]
    assert get_json(client, "/api/datasets/sample/meta") == on_disk


def test_scopes_scope_clusters_thumbnail(client: httpx.Client, root: Path) -> None:
    on_disk = json.loads((root / "sample" / "scopes" / "scopes-001.json").read_text())
    listed = get_json(client, "/api/datasets/sample/scopes")
    assert [s["id"] for s in listed] == ["scopes-001"]
    assert "cluster_labels_lookup" not in listed[0] and listed[0]["embedding_id"] == on_disk["embedding_id"]
    assert get_json(client, SCOPE) == on_disk
    clusters = get_json(client, SCOPE + "/clusters")
    assert clusters == on_disk["cluster_labels_lookup"]
    counts = pd.read_parquet(root / "sample" / "scopes" / "scopes-001.parquet")["cluster"].value_counts()
    assert {c["cluster"]: c["count"] for c in clusters} == {int(k): int(v) for k, v in counts.items()}
    png = client.get(SCOPE + "/thumbnail")
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.content == (root / "sample" / "clusters" / f"{on_disk['cluster_id']}.png").read_bytes()


def test_points_arrow_stream(client: httpx.Client, expected: pd.DataFrame) -> None:
    response = client.get(SCOPE + "/points")
    assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.schema.names == ["ls_index", "x", "y", "cluster"]
    assert [str(t) for t in table.schema.types] == ["int32", "float", "float", "int32"]
    frame = table.to_pandas()
    assert frame["ls_index"].tolist() == expected["ls_index"].tolist()
    np.testing.assert_allclose(frame["x"], expected["x"], rtol=1e-6)
    assert frame["cluster"].tolist() == expected["cluster"].tolist()


def test_points_color_by_category(client: httpx.Client, expected: pd.DataFrame) -> None:
    response = client.get(SCOPE + "/points", params={"color_by": "section"})
    categories = json.loads(response.headers["x-ls-categories"])
    assert categories == sorted(expected["section"].unique())
    color = pa.ipc.open_stream(response.content).read_all().column("color")
    assert str(color.type) == "int32"
    assert [categories[c] for c in color.to_pylist()] == expected["section"].tolist()


def test_rows_default_page(client: httpx.Client, expected: pd.DataFrame) -> None:
    page = get_json(client, SCOPE + "/rows")
    assert (page["total"], page["offset"], page["limit"], page["next"]) == (len(expected), 0, 50, 50)
    first = page["rows"][0]
    assert set(first) == {
        "ls_index",
        "x",
        "y",
        "cluster",
        "label",
        "package",
        "section",
        "priority",
        "homepage",
        "text",
    }
    assert [r["ls_index"] for r in page["rows"]] == list(range(50))
    assert first["text"] == expected.loc[0, "text"] and first["label"] == expected.loc[0, "label"]
    last = get_json(client, SCOPE + "/rows", offset=len(expected) - 3, limit=10)
    assert len(last["rows"]) == 3 and last["next"] is None


def test_rows_filters_combined(client: httpx.Client, expected: pd.DataFrame) -> None:
    biggest = int(expected["cluster"].value_counts().index[0])
    sections = expected[expected["cluster"] == biggest]["section"].value_counts().index[:3].tolist()
    params = {
        "cluster": [biggest, 999],
        "where": where(
            {"column": "section", "op": "in", "value": sections},
            {"column": "priority", "op": "!=", "value": "extra"},
            {"column": "homepage", "op": "not_null"},
        ),
        "text": "LIB",
    }
    want = expected[
        expected["cluster"].isin([biggest])
        & expected["section"].isin(sections)
        & (expected["priority"] != "extra")
        & expected["homepage"].notna()
        & expected["text"].str.lower().str.contains("lib", regex=False)
    ]
    assert 0 < len(want) < len(expected)
    got = all_rows(client, **params)
    assert [r["ls_index"] for r in got] == want["ls_index"].tolist()
    assert get_json(client, SCOPE + "/rows/indices", **params) == {"total": len(want), "indices": want.index.tolist()}
    # The tag and an explicit selection narrow it further.
    tagged = [i for i in want.index if i in TAGS["firsts"]]
    assert get_json(client, SCOPE + "/rows/indices", tag="firsts", **params)["indices"] == tagged
    picked = want.index[::2].tolist()[:10] + [100000]
    assert get_json(client, SCOPE + "/rows/indices", selection=",".join(map(str, picked)), **params)["indices"] == [
        i for i in picked if i in want.index
    ]


def test_text_filter_is_literal(client: httpx.Client, expected: pd.DataFrame) -> None:
    for needle in ("c++", "(", ".*", "%", "_"):
        want = expected[expected["text"].str.lower().str.contains(needle.lower(), regex=False)].index.tolist()
        assert get_json(client, SCOPE + "/rows/indices", text=needle)["indices"] == want, needle


def test_rows_sort_and_compare(client: httpx.Client, expected: pd.DataFrame) -> None:
    page = get_json(client, SCOPE + "/rows", sort="-package", limit=20)
    assert [r["package"] for r in page["rows"]] == sorted(expected["package"], reverse=True)[:20]
    high = get_json(client, SCOPE + "/rows/indices", where=where({"column": "x", "op": ">=", "value": 0.25}))
    assert high["indices"] == expected[expected["x"] >= np.float32(0.25)].index.tolist()
    contains = get_json(
        client, SCOPE + "/rows/indices", where=where({"column": "package", "op": "contains", "value": "PY"})
    )
    assert contains["indices"] == expected[expected["package"].str.contains("py")].index.tolist()


def test_tags(client: httpx.Client) -> None:
    listed = get_json(client, "/api/datasets/sample/tags")
    assert listed == [{"tag": name, "count": len(values)} for name, values in sorted(TAGS.items())]
    assert get_json(client, "/api/datasets/sample/tags/favourites") == {
        "tag": "favourites",
        "indices": TAGS["favourites"],
    }
    assert get_json(client, SCOPE + "/rows", tag="empty")["total"] == 0


def _row_vectors(root: Path) -> np.ndarray:
    scope = json.loads((root / "sample" / "scopes" / "scopes-001.json").read_text())
    with h5py.File(root / "sample" / "embeddings" / f"{scope['embedding_id']}.h5", "r") as handle:
        return np.asarray(handle["embeddings"][...])


@pytest.mark.numeric
def test_search_finds_the_row_itself_first(client: httpx.Client, root: Path, expected: pd.DataFrame) -> None:
    unique = expected[~expected["text"].duplicated(keep=False)]
    vectors = _row_vectors(root)
    for row in (int(unique.index[3]), int(unique.index[120]), int(unique.index[-1])):
        result = get_json(client, SCOPE + "/search", q=expected.loc[row, "text"], k=10)
        assert result["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
        hits = result["results"]
        assert hits[0]["ls_index"] == row and hits[0]["score"] > 0.99
        assert hits[0]["text"] == expected.loc[row, "text"] and hits[0]["label"] == expected.loc[row, "label"]
        # Exact: the ranking is the brute-force cosine ranking against the row's own stored vector, up to neighbours
        # whose cosines tie to 1e-5 (the query is embedded apart from the row: its last bits may differ on a CPU).
        cosine = vectors @ vectors[row] / np.linalg.norm(vectors, axis=1) / np.linalg.norm(vectors[row])
        brute = np.argsort(-cosine, kind="stable")[:10].tolist()
        np.testing.assert_allclose(cosine[[h["ls_index"] for h in hits][:5]], cosine[brute[:5]], rtol=0, atol=1e-5)
        scores = [h["score"] for h in hits]
        assert scores == sorted(scores, reverse=True)


def test_search_and_semantic_filter_defaults_are_their_own_settings(root: Path) -> None:
    """No k: a search returns default_search_k results, a semantic filter keeps default_k rows; each set apart."""
    q = "a game to play with friends"
    with in_process(root, LATENT_SCOPE_DEFAULT_SEARCH_K="7", LATENT_SCOPE_DEFAULT_K="11") as http:
        assert len(get_json(http, SCOPE + "/search", q=q)["results"]) == 7
        assert len(get_json(http, SCOPE + "/neighbors", ls_index=3)["results"]) == 7
        assert get_json(http, SCOPE + "/rows", q=q, limit=100)["total"] == 11
    with in_process(root) as http:
        assert len(get_json(http, SCOPE + "/search", q=q)["results"]) == 20
        assert get_json(http, SCOPE + "/rows", q=q, limit=200)["total"] == 100


def test_semantic_filter_in_rows(client: httpx.Client, expected: pd.DataFrame) -> None:
    q = "a game to play with friends"
    top = get_json(client, SCOPE + "/search", q=q, k=25)["results"]
    page = get_json(client, SCOPE + "/rows", q=q, k=25, limit=100)
    assert page["total"] == 25
    assert [r["ls_index"] for r in page["rows"]] == [h["ls_index"] for h in top]
    assert all(abs(r["score"] - h["score"]) < 1e-6 for r, h in zip(page["rows"], top, strict=True))
    cluster = top[0]["cluster"]
    narrowed = get_json(client, SCOPE + "/rows/indices", q=q, k=25, cluster=cluster)["indices"]
    assert narrowed == sorted(h["ls_index"] for h in top if h["cluster"] == cluster)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_round_trip(client: httpx.Client, fmt: str, expected: pd.DataFrame) -> None:
    params = {"format": fmt, "where": where({"column": "priority", "op": "=", "value": "optional"}), "text": "data"}
    response = client.get(SCOPE + "/export", params=params)
    assert response.status_code == 200
    assert f"sample-scopes-001.{fmt}" in response.headers["content-disposition"]
    body = io.BytesIO(response.content)
    frame = {"csv": pd.read_csv, "parquet": pd.read_parquet, "jsonl": lambda b: pd.read_json(b, lines=True)}[fmt](body)
    rows = all_rows(client, where=params["where"], text="data")
    assert frame["ls_index"].tolist() == [r["ls_index"] for r in rows]
    for column in ("package", "section", "text", "label", "cluster"):
        assert frame[column].tolist() == [r[column] for r in rows], column
    np.testing.assert_allclose(frame["x"], [r["x"] for r in rows], rtol=1e-6)
    for tag, members in TAGS.items():
        assert frame[f"tag:{tag}"].astype(bool).tolist() == [i in members for i in frame["ls_index"]], tag


def test_openapi_describes_every_route(client: httpx.Client) -> None:
    doc = get_json(client, "/openapi.json")
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/datasets",
        "/api/datasets/{dataset}/meta",
        "/api/datasets/{dataset}/scopes/{scope}/points",
        "/api/datasets/{dataset}/scopes/{scope}/rows",
        "/api/datasets/{dataset}/scopes/{scope}/rows/indices",
        "/api/datasets/{dataset}/scopes/{scope}/search",
        "/api/datasets/{dataset}/scopes/{scope}/export",
        "/api/datasets/{dataset}/tags/{tag}",
    ):
        assert doc["paths"][path]["get"]["summary"], path
    rows = {p["name"] for p in doc["paths"]["/api/datasets/{dataset}/scopes/{scope}/rows"]["get"]["parameters"]}
    assert {"cluster", "tag", "where", "text", "q", "k", "ls_index", "offset", "limit", "sort"} <= rows


def test_static_frontend_with_spa_fallback(client: httpx.Client) -> None:
    index = client.get("/")
    assert index.status_code == 200 and "<html" in index.text.lower()
    deep = client.get("/datasets/sample/explore/scopes-001?cluster=1")
    assert deep.status_code == 200 and deep.text == index.text


def test_frontend_not_built_page(root: Path, tmp_path: Path) -> None:
    empty = tmp_path / "static"
    empty.mkdir()
    with serve(root, tmp_path / "log", LATENT_SCOPE_VIEWER_STATIC=str(empty)) as base:
        page = httpx.get(base + "/datasets/sample/explore/scopes-001")
        assert page.status_code == 200 and "frontend is not built" in page.text and "npm run build" in page.text
        assert httpx.get(base + "/api/datasets/sample/meta").status_code == 200
