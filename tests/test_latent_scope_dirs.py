"""Latent Scope users move in: their data directories (1.0 with LanceDB, 0.x with HDF5 and the older README's
names) served as they are, their emoji tags read and edited, their model ids understood, and their work continued
by ls-run without a byte of their files changed. The directories are built as latentscope writes them
(tests/latent_scope_dirs.py), with vectors from the real model."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from ls_pipeline import cli
from ls_pipeline.errors import UserError
from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder, load_query_embedder
from ls_pipeline.models.latent_scope_ids import hub_id
from ls_pipeline.store import DataDir
from tests.conftest import SMALL_RECIPE
from tests.helpers import run_cli, tree_digest
from tests.latent_scope_dirs import DELETED_ROWS, LS0_MODEL, LS1_MODEL, TAGS, latent_scope_0, latent_scope_1
from tests.viewer_support import in_process, studio_client

q = urllib.parse.quote


@pytest.fixture(scope="module")
def vectors(sample_frame: pd.DataFrame) -> np.ndarray:
    """The sample's texts embedded by the real default model, as Latent Scope's ls-embed of that model gives them."""
    return load_embedder(DEFAULT_MODEL).embed(sample_frame["text"].tolist())


@pytest.fixture(scope="module")
def theirs(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame, vectors: np.ndarray) -> Path:
    """A data directory holding a Latent Scope 1.0 dataset ('peer') and a 0.x one ('old'); tests copy it."""
    root = tmp_path_factory.mktemp("latent-scope") / "data"
    latent_scope_1(root, sample_frame, vectors)
    latent_scope_0(root, sample_frame, vectors)
    return root


@pytest.fixture
def root(theirs: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(theirs, copy)
    return copy


@pytest.fixture
def client(root: Path) -> Iterator[httpx.Client]:
    with in_process(root) as http:
        yield http


def test_a_latent_scope_1_dataset_is_served_with_search_neighbours_and_emoji_tags(
    client: httpx.Client, root: Path, sample_frame: pd.DataFrame
) -> None:
    before = tree_digest(root)
    base = "/api/datasets/peer/scopes/scopes-001"
    assert [s["id"] for s in client.get("/api/datasets/peer/scopes").json()] == ["scopes-001"]
    clusters = client.get(base + "/clusters").json()
    assert [c["label"] for c in clusters] == [f"Cluster {c}" for c in range(6)]
    assert all(c["description"].startswith("This is cluster") for c in clusters)
    kept = len(sample_frame) - len(DELETED_ROWS)
    assert sum(c["count"] for c in clusters) == kept  # counted here: Latent Scope's lookup has none
    rows = client.get(base + "/rows", params={"limit": 5}).json()
    assert rows["total"] == kept and DELETED_ROWS[-1] < rows["rows"][0]["ls_index"]  # their `deleted` honoured
    assert client.get(base + "/rows", params={"include_removed": "true"}).json()["total"] == len(sample_frame)
    target = 42
    found = client.get(base + "/search", params={"q": sample_frame["text"][target], "k": 5})
    assert found.status_code == 200, found.text
    assert found.json()["model_id"] == LS1_MODEL
    best = found.json()["results"][0]
    assert best["ls_index"] == target and best["score"] > 0.95  # the query embedded by the scope's own model
    near = client.get(base + "/neighbors", params={"ls_index": 10, "k": 3}).json()["results"]
    assert near[0]["ls_index"] == 10 and near[0]["score"] > 0.99  # the row's own vector from the LanceDB table
    tags = {t["tag"]: t["count"] for t in client.get("/api/datasets/peer/tags").json()}
    assert tags == {name: len(rows) for name, rows in TAGS.items()}
    assert client.get("/api/datasets/peer/tags/" + q("❤️")).json()["indices"] == TAGS["❤️"]
    liked = client.get(base + "/rows", params={"tag": "👍"}).json()["rows"]
    assert [r["ls_index"] for r in liked] == [i for i in TAGS["👍"] if i not in DELETED_ROWS]
    assert tree_digest(root) == before  # served as it is: nothing written, nothing converted


def test_rows_come_from_the_scopes_input_copy_and_token_scopes_are_left_out(
    root: Path, sample_frame: pd.DataFrame
) -> None:
    """A dataset shared without its input.parquet still has scopes-001-input.parquet, Latent Scope's join of the
    scope to its input; a token scope (one point per token) is not listed."""
    ds = root / "peer"
    (ds / "input.parquet").unlink()
    token_scope = json.loads((ds / "scopes" / "scopes-001.json").read_text()) | {"id": "scopes-002"}
    (ds / "scopes" / "scopes-002.json").write_text(json.dumps(token_scope | {"granularity": "tokens"}))
    shutil.copy(ds / "scopes" / "scopes-001.parquet", ds / "scopes" / "scopes-002.parquet")
    with in_process(root) as http:
        rows = http.get("/api/datasets/peer/scopes/scopes-001/rows", params={"limit": 2}).json()
        assert rows["total"] == len(sample_frame) - len(DELETED_ROWS)
        first = DELETED_ROWS[-1] + 1
        assert [r["text"] for r in rows["rows"]] == sample_frame["text"][first : first + 2].tolist()
        assert [s["id"] for s in http.get("/api/datasets/peer/scopes").json()] == ["scopes-001"]
        assert http.get("/api/datasets/peer/scopes/scopes-002/rows").status_code == 404


def test_a_latent_scope_0_dataset_reads_from_hdf5_and_the_scope_json_alone(
    client: httpx.Client, root: Path, sample_frame: pd.DataFrame
) -> None:
    before = tree_digest(root)
    base = "/api/datasets/old/scopes/scopes-001"
    clusters = client.get(base + "/clusters").json()
    assert [c["label"] for c in clusters] == [f"Topic {c}" for c in range(6)]  # clusters-001-labels-default.parquet
    assert sum(c["count"] for c in clusters) == len(sample_frame)
    rows = client.get(base + "/rows", params={"limit": 3}).json()
    assert rows["total"] == len(sample_frame)
    first = rows["rows"][0]
    assert first["ls_index"] == 0 and first["text"] == sample_frame["text"][0] and first["label"].startswith("Topic")
    points = client.get(base + "/points")
    assert points.status_code == 200 and points.headers["content-type"].startswith("application/vnd.apache.arrow")
    found = client.get(base + "/search", params={"q": sample_frame["text"][7], "k": 3}).json()
    assert found["model_id"] == LS0_MODEL and found["results"][0]["ls_index"] == 7
    assert client.get("/api/datasets/old/tags").json() == [{"tag": "❤️", "count": 3}]
    assert tree_digest(root) == before


def test_emoji_tags_are_created_edited_and_kept_in_the_history(root: Path) -> None:
    tags = root / "peer" / "tags"
    with studio_client(root) as http:
        for name in ("👩‍💻", "✔️", "🏳️‍🌈", "日本語 tag"):  # a ZWJ sequence, a variation selector, both, other scripts
            assert http.post("/api/datasets/peer/tags", json={"tag": name}).status_code == 201, name
            assert (tags / f"{name}.indices").read_text() == ""
        added = http.post("/api/datasets/peer/scopes/scopes-001/tags/" + q("👩‍💻") + "/add", json={"ls_index": [7, 9]})
        assert added.status_code == 200 and added.json()["counts"] == {"👩‍💻": 2}
        assert (tags / "👩‍💻.indices").read_text() == "7\n9\n"  # Latent Scope's format: one ls_index a line
        moved = http.post("/api/datasets/peer/tags/" + q("✔️") + "/rename", json={"to": "❤️‍🔥"})
        assert moved.status_code == 200 and (tags / "❤️‍🔥.indices").is_file() and not (tags / "✔️.indices").exists()
        history = http.get("/api/datasets/peer/tag-history").json()
        assert [(e["op"], e["tag"]) for e in history][-2:] == [("change", "👩‍💻"), ("rename", "✔️")]
        assert {"👍", "👎", "❤️", "👩‍💻", "❤️‍🔥"} <= {t["tag"] for t in http.get("/api/datasets/peer/tags").json()}


def test_a_latent_scope_scope_is_not_curated_here_and_says_so(root: Path) -> None:
    before = tree_digest(root)
    with studio_client(root) as http:
        edit = {"op": "rename", "cluster": 1, "label": "renamed"}
        refused = http.post("/api/datasets/peer/scopes/scopes-001/edits", json=edit)
    assert refused.status_code == 400 and "made by Latent Scope" in refused.json()["error"]
    assert tree_digest(root) == before


@pytest.mark.parametrize(
    "name",
    ["a/b", "a\\b", "..", ".hidden", "a.b", "👍.bak", "x\u0000y", "bell\u0007", "line\nbreak", "evil\u202etxt",
     "\u2066isolate", "", "   "],
)  # fmt: skip
def test_tag_names_latent_scope_could_not_read_are_refused_and_nothing_written(root: Path, name: str) -> None:
    before = tree_digest(root)
    with studio_client(root) as http:
        created = http.post("/api/datasets/peer/tags", json={"tag": name})
        renamed = http.post("/api/datasets/peer/tags/" + q("👍") + "/rename", json={"to": name})
        for response in (created, renamed):
            assert response.status_code == 400, (name, response.text)
            assert "tag name" in response.json()["error"] and "Traceback" not in response.text
        if name and "/" not in name:  # as a path parameter too (a '/' would be another route)
            assert http.get("/api/datasets/peer/tags/" + q(name, safe="")).status_code in (400, 404)
    assert tree_digest(root) == before


def test_latent_scope_model_ids_name_the_same_model_here(sample_frame: pd.DataFrame, vectors: np.ndarray) -> None:
    for given in (LS1_MODEL, LS0_MODEL, "🤗-sentence-transformers___all-MiniLM-L6-v2"):
        assert hub_id(given) == DEFAULT_MODEL
        query = load_query_embedder(given).embed([sample_frame["text"][3]])[0]
        assert float(query @ vectors[3]) > 0.99
    assert hub_id("nomic-embed-text-v1.5") == "nomic-ai/nomic-embed-text-v1.5"
    for given, names in [
        ("cohereai-embed-english-v3.0", "COHERE_API_KEY"),
        ("voyageai-voyage-2", "VOYAGE_API_KEY"),
        ("togetherai-togethercomputer___m2-bert-80M-2k-retrieval", "TOGETHER_API_KEY"),
        ("custom_embedding-nowhere", "custom_embedding_models.json"),
    ]:
        with pytest.raises(UserError) as refused:
            load_query_embedder(given)
        line = str(refused.value)
        assert names in line and "_models.json" in line and "\n" not in line


def test_a_custom_embedding_model_of_latent_scope_embeds_queries_through_its_server(
    tmp_path: Path, sample_frame: pd.DataFrame
) -> None:
    """custom_embedding- ids are read from Latent Scope's custom_embedding_models.json, and the query goes to that
    OpenAI-compatible server (our loopback stand-in) through the real SDK."""
    from tests.embedding_server import running, served_vector

    frame = sample_frame.head(120)
    served = np.stack([served_vector(t, 32) for t in frame["text"]])
    served = (served / np.linalg.norm(served, axis=1, keepdims=True)).astype(np.float32)
    root = tmp_path / "data"
    ds = latent_scope_1(root, frame, served)
    sidecar = ds / "embeddings" / "embedding-001.json"
    sidecar.write_text(sidecar.read_text().replace(LS1_MODEL, "custom_embedding-bow"))
    scope = ds / "scopes" / "scopes-001.json"
    scope.write_text(scope.read_text().replace(LS1_MODEL, "custom_embedding-bow"))
    with running() as server:
        entry = {"name": "bow", "base_url": server.openai_url, "id": "custom_embedding-bow", "dimensions": 32}
        (root / "custom_embedding_models.json").write_text(json.dumps([entry]))
        with in_process(root) as http:
            found = http.get("/api/datasets/peer/scopes/scopes-001/search", params={"q": frame["text"][50], "k": 3})
        assert found.status_code == 200, found.text
        assert found.json()["results"][0]["ls_index"] == 50
        assert server.answered()[-1].body["model"] == "bow"


def test_new_ids_come_after_every_id_latent_scope_took(root: Path) -> None:
    ds = DataDir(root).dataset("peer")
    # An embedding Latent Scope never finished: its LanceDB table exists, its sidecar does not.
    tables = root / "peer" / "lancedb"
    shutil.copytree(tables / "emb-embedding-001.lance", tables / "emb-embedding-002.lance")
    assert ds.next_id("embedding") == "embedding-003"
    assert ds.next_id("scope") == "scopes-002" and ds.next_id("cluster") == "cluster-002"
    assert ds.ids("embedding") == ["embedding-001"] and ds.sidecar("embedding", "embedding-001").foreign


def test_ls_run_adds_a_scope_beside_latent_scopes_own_without_changing_its_files(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sample_frame: pd.DataFrame
) -> None:
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(root))
    recipe = root.parent / "small.yaml"
    recipe.write_text(SMALL_RECIPE)
    before = tree_digest(root / "peer")
    code, out, err = run_cli(cli.ls_run, ["peer", "--recipe", str(recipe)], capsys)
    assert code == 0, err
    ids = dict(line.split(": ") for line in out.strip().splitlines())
    assert ids["embedding"] == "embedding-001"  # their vectors, same model: not embedded again
    assert (ids["umap"], ids["cluster"], ids["scope"]) == ("umap-002", "cluster-002", "scopes-002")
    # The stage commands take their clustering too: keyword labels on it, and a scope of ours beside theirs.
    code, out, err = run_cli(cli.ls_label, ["peer", "text", "cluster-001", "keywords"], capsys)
    assert (code, out.strip()) == (0, "cluster-001-labels-001"), err
    code, out, err = run_cli(cli.ls_scope, ["peer", "cluster-001-labels-001", "on theirs"], capsys)
    assert (code, out.strip()) == (0, "scopes-003"), err
    after = tree_digest(root / "peer")
    assert {k: after[k] for k in before} == before  # every file of theirs, byte for byte
    assert not (root / "peer" / "embeddings" / "embedding-002.h5").exists()
    # What Latent Scope 1.0's explore page needs of our scope: the dataset's meta copied in, and a semver version.
    ours = json.loads((root / "peer" / "scopes" / "scopes-002.json").read_text())
    assert ours["dataset"]["columns"] == list(sample_frame.columns) and ours["ls_version"] == "1.0.0"
    with in_process(root) as http:
        scopes = [s["id"] for s in http.get("/api/datasets/peer/scopes").json()]
        found = http.get("/api/datasets/peer/scopes/scopes-002/search", params={"q": sample_frame["text"][9]}).json()
    assert scopes == ["scopes-001", "scopes-002", "scopes-003"] and found["results"][0]["ls_index"] == 9
    code, _, err = run_cli(cli.ls_ingest, ["peer", str(root / "peer" / "input.parquet")], capsys)
    assert code == 2 and "ingested by Latent Scope" in err and len(err.strip().splitlines()) == 1
    assert {k: tree_digest(root / "peer")[k] for k in before} == before
