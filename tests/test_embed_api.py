"""Embedding through APIs, driven by the real openai and mistralai SDKs against our own 127.0.0.1 server
(tests/embedding_server.py): vectors as served, batches within limits, retries, over-long inputs, shorter vectors,
resume after SIGKILL without paying for a batch twice, and search in a served scope with the scope's API model."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy as np
import pandas as pd
import pytest

import ls_pipeline as ls
from ls_pipeline.errors import UserError
from ls_pipeline.models.api_embedding import estimate_tokens
from tests.embedding_server import EmbeddingServer, running, served_vector, tokens

OPENAI_KEY = "sk-test-EMBED-openai-31337"
MISTRAL_KEY = "mistral-test-EMBED-4711"
ROWS = 120


@pytest.fixture
def server() -> Any:
    with running(EmbeddingServer(dimensions=32)) as embeddings:
        yield embeddings


@pytest.fixture
def data(tmp_path: Path, server: EmbeddingServer, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with ROWS real texts, custom models for our server, and keys in its .env."""
    root = tmp_path / "data"
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(root))
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)  # the SDK's own variable, for the built-in OpenAI ids
    ls.init(root)
    ls.ingest("posts", sample_frame.head(ROWS), text_column="text")
    models = [
        {"id": "local-oai", "kind": "embedding", "provider": "openai-compatible", "model": "tiny-embed",
         "base_url": server.openai_url, "dimensions": 32, "max_batch_inputs": 16, "max_batch_tokens": 1200},
        {"id": "local-mistral", "kind": "embedding", "provider": "mistral", "model": "mistral-embed",
         "base_url": server.mistral_url, "dimensions": 32},
        {"id": "short-inputs", "kind": "embedding", "provider": "openai-compatible", "model": "tiny-embed",
         "base_url": server.openai_url, "dimensions": 32, "max_input_tokens": 60},
        {"id": "local-chat", "provider": "openai-compatible", "model": "chat", "base_url": server.openai_url},
    ]  # fmt: skip
    (root / "_models.json").write_text(json.dumps(models))
    (root / ".env").write_text(f"OPENAI_API_KEY={OPENAI_KEY}\nMISTRAL_API_KEY={MISTRAL_KEY}\n")
    return root


def texts(root: Path) -> list[str]:
    return pd.read_parquet(root / "posts" / "input.parquet")["text"].tolist()


def stored(root: Path, embedding_id: str) -> tuple[np.ndarray, dict[str, Any]]:
    with h5py.File(root / "posts" / "embeddings" / f"{embedding_id}.h5", "r") as handle:
        vectors = handle["embeddings"][:]
    return vectors, json.loads((root / "posts" / "embeddings" / f"{embedding_id}.json").read_text())


def expected(rows: list[str], dimensions: int = 32) -> np.ndarray:
    raw = np.stack([served_vector(t, dimensions) for t in rows])
    return (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)


def test_a_custom_openai_compatible_model_stores_what_was_served_in_batches_within_its_limits(
    data: Path, server: EmbeddingServer
) -> None:
    embedding_id = ls.embed("posts", model_id="local-oai")
    vectors, sidecar = stored(data, embedding_id)
    np.testing.assert_allclose(vectors, expected(texts(data)), atol=1e-6)
    requests = server.answered()
    assert all(len(r.inputs) <= 16 and sum(estimate_tokens(t) for t in r.inputs) <= 1200 for r in requests)
    assert sum(len(r.inputs) for r in requests) == ROWS and len(requests) >= ROWS // 16
    assert sidecar["api_usage"] == {
        "requests": len(requests),
        "retries": 0,
        "tokens": sum(tokens(t) for r in requests for t in r.inputs),
    }
    assert sidecar["model_id"] == "local-oai" and sidecar["dimensions"] == 32 and sidecar["rows_truncated"] == 0
    # A custom server gets no provider's key unless its entry names one (api_key_env).
    assert all(r.headers["authorization"] == "Bearer not-needed" for r in requests)


def test_the_builtin_openai_ids_honour_openai_base_url_and_ask_for_shorter_vectors(
    data: Path, server: EmbeddingServer
) -> None:
    server.dimensions = 1536  # what text-embedding-3-small answers unless asked for fewer
    full = ls.embed("posts", model_id="openai-text-embedding-3-small")
    short = ls.embed("posts", model_id="openai-text-embedding-3-small", dimensions=8)
    assert full != short
    vectors, sidecar = stored(data, short)
    assert vectors.shape == (ROWS, 8) and sidecar["dimensions"] == 8
    np.testing.assert_allclose(vectors, expected(texts(data), 8), atol=1e-6)
    assert {r.body.get("dimensions") for r in server.answered()} == {None, 8}
    assert {r.body["model"] for r in server.answered()} == {"text-embedding-3-small"}
    assert {r.headers["authorization"] for r in server.log} == {f"Bearer {OPENAI_KEY}"}  # from the data directory
    assert OPENAI_KEY not in json.dumps(sidecar)
    with pytest.raises(UserError, match="gives 1536 dimensions only"):
        ls.embed("posts", model_id="openai-text-embedding-ada-002", dimensions=8)
    with pytest.raises(UserError, match="not trained for shorter vectors"):
        ls.embed("posts", dimensions=64)  # the local default is no Matryoshka model


def test_mistral_through_its_sdk(data: Path, server: EmbeddingServer) -> None:
    vectors, sidecar = stored(data, ls.embed("posts", model_id="local-mistral"))
    np.testing.assert_allclose(vectors, expected(texts(data)), atol=1e-6)
    assert all(r.headers["user-agent"].startswith("mistral-client-python") for r in server.log)
    assert {r.headers["authorization"] for r in server.log} == {f"Bearer {MISTRAL_KEY}"}
    assert sidecar["revision"] == "api:mistral:mistral-embed"


def test_a_429_storm_is_waited_out_honouring_retry_after(data: Path, server: EmbeddingServer) -> None:
    server.policy = lambda number, inputs: 429 if number < 3 else None
    started = time.monotonic()
    vectors, sidecar = stored(data, ls.embed("posts", model_id="local-oai"))
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 at least once
    np.testing.assert_allclose(vectors, expected(texts(data)), atol=1e-6)
    assert Counter(r.status for r in server.log)[429] == 3 and sidecar["api_usage"]["retries"] == 3


def test_an_api_embedding_reports_its_calls_and_cost_as_dagster_metadata(data: Path, server: EmbeddingServer) -> None:
    from ls_pipeline.defs.metadata import usage_metadata

    server.policy = lambda number, inputs: 429 if number < 1 else None
    embedding_id = ls.embed("posts", model_id="local-oai")
    (data / "_prices.yaml").write_text("local-oai: {input: 50}\n")  # dollars per million tokens
    ds = ls.data_dir().dataset("posts")
    found = usage_metadata(ds, ds.sidecar("embedding", embedding_id))
    served = [r for r in server.log if r.status == 200]
    assert found["model"] == "local-oai" and found["requests"] == len(served) and found["retries"] == 1
    assert found["input_tokens"] == ds.sidecar("embedding", embedding_id)["api_usage"]["tokens"] > 0
    assert found["output_tokens"] == 0
    assert found["estimated_cost_usd"] == pytest.approx(found["input_tokens"] * 50 / 1e6, abs=1e-6)


def test_a_dropped_connection_is_retried(data: Path, server: EmbeddingServer) -> None:
    server.policy = lambda number, inputs: "drop" if number == 1 else None
    vectors, sidecar = stored(data, ls.embed("posts", model_id="local-oai"))
    np.testing.assert_allclose(vectors, expected(texts(data)), atol=1e-6)
    assert sidecar["api_usage"]["retries"] == 1


def test_over_long_inputs_are_cut_to_the_limit_or_refused(data: Path, server: EmbeddingServer) -> None:
    server.max_input_tokens = 60
    long_rows = [i for i, t in enumerate(texts(data)) if estimate_tokens(t) > 60]
    assert long_rows
    with pytest.raises(UserError, match=f"over short-inputs's 60-token limit \\(first: ls_index {long_rows[0]}\\)"):
        ls.embed("posts", model_id="short-inputs", overlong="refuse")
    assert not list((data / "posts" / "embeddings").glob("*.json")) and not server.log
    vectors, sidecar = stored(data, ls.embed("posts", model_id="short-inputs"))
    assert sidecar["rows_truncated"] == len(long_rows) and np.isfinite(vectors).all()
    assert all(tokens(t) <= 60 for r in server.log for t in r.inputs)


def test_a_400_from_the_server_is_one_line_and_not_retried(data: Path, server: EmbeddingServer) -> None:
    server.max_input_tokens = 30  # stricter than the model entry says: the server refuses
    with pytest.raises(UserError) as refused:
        ls.embed("posts", model_id="local-oai")
    message = str(refused.value)
    assert "HTTP 400" in message and "is over 30 tokens" in message and "\n" not in message
    assert len(server.log) <= 4 and all(r.status == 400 for r in server.log)  # the requests in flight, no retries
    assert not list((data / "posts" / "embeddings").glob("*.json"))


def test_without_a_key_the_run_stops_naming_the_variable(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (data / ".env").write_text("")
    with pytest.raises(UserError, match="needs OPENAI_API_KEY: export it, or store it with `ls-init"):
        ls.embed("posts", model_id="openai-text-embedding-3-small")


def test_list_models_shows_the_api_models_and_whether_their_key_is_set(data: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ls-list-models"))],
        env={**os.environ, "MISTRAL_API_KEY": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("  ")}
    assert "OPENAI_API_KEY (set)" in lines["openai-text-embedding-3-large"]
    assert "MISTRAL_API_KEY (set)" in lines["mistralai-mistral-embed"]  # from DATA/.env
    assert "no key needed" in lines["local-oai"] and "local-chat" in lines  # chat entries still listed
    assert OPENAI_KEY not in done.stdout + done.stderr


def test_a_killed_run_resumes_without_asking_for_any_batch_twice(data: Path, server: EmbeddingServer) -> None:
    """SIGKILL while requests hang after the first four answers; the rerun asks only for what was never answered."""
    server.policy = lambda number, inputs: "hang" if number >= 4 else None
    command = [str(Path(sys.executable).with_name("ls-embed")), "posts", "text", "local-oai"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(server.answered()) < 4 or server.arrived < 5:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    time.sleep(1.5)  # the four answers are written and flushed (a write takes milliseconds)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not list((data / "posts" / "embeddings").glob("*.json"))  # nothing visible from the killed run
    server.policy = lambda number, inputs: None
    server.release.set()
    first_run = {t for r in server.answered() for t in r.inputs}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    answered = Counter(t for r in server.answered() for t in r.inputs)
    assert set(answered) == set(texts(data)) and max(answered.values()) == 1  # no text paid for twice
    vectors, sidecar = stored(data, done.stdout.strip())
    np.testing.assert_allclose(vectors, expected(texts(data)), atol=1e-6)
    assert sidecar["rows_resumed"] == len(first_run) > 0
    print(f"\nkilled after {len(first_run)} rows answered; the rerun asked {sidecar['api_usage']['requests']} "
          f"requests for the other {ROWS - len(first_run)} rows, none twice")  # fmt: skip


@pytest.mark.parametrize(
    ("embed", "key"),
    [
        ("{model_id: openai-text-embedding-3-small, dimensions: 32}", "OPENAI_API_KEY"),
        ("{model_id: local-mistral}", "MISTRAL_API_KEY"),
    ],
)
def test_a_scope_embedded_through_an_api_searches_with_its_model(
    data: Path, server: EmbeddingServer, monkeypatch: pytest.MonkeyPatch, embed: str, key: str
) -> None:
    from viewer.app import create_app

    recipe = data / "api.yaml"
    recipe.write_text(
        f"embed: {embed}\numap: {{neighbors: 10, seed: 7}}\n"
        "cluster: {min_cluster_size: 8, min_samples: 3}\n"
        "checks: {max_noise_share: 0.9, min_clusters: 1}\n"
    )
    ids = ls.run("posts", recipe=str(recipe))
    query = texts(data)[7]
    url = f"/api/datasets/posts/scopes/{ids['scope']}/search"

    def get_points(app: Any, scope: str) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://viewer") as client:
                return await client.get(f"/api/datasets/posts/scopes/{scope}/points")

        return asyncio.run(call())

    def search(app: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://viewer") as client:
                return await client.get(url, params={"q": query, "k": 5})

        return asyncio.run(call())

    found = search(create_app(data))
    assert found.status_code == 200, found.text
    assert found.json()["results"][0]["ls_index"] == 7  # the same text: the same vector, score 1
    assert server.log[-1].inputs == [query]  # embedded by the scope's own model, with its dimensions
    assert server.log[-1].body.get("dimensions") == (32 if key == "OPENAI_API_KEY" else None)
    (data / ".env").write_text("")
    monkeypatch.delenv(key, raising=False)
    missing = search(create_app(data))
    assert missing.status_code == 400 and key in missing.json()["error"]
    assert get_points(create_app(data), ids["scope"]).status_code == 200  # every other route still works
