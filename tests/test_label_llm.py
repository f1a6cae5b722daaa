"""LLM labelers through the real openai and mistralai SDKs, pointed at our own server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.errors import UserError
from ls_pipeline.models.chat_runner import ChatSettings
from ls_pipeline.stages.label import LabelParams
from ls_pipeline.stages.label.chat import FALLBACK
from ls_pipeline.store import DataDir
from tests.chat_server import ChatServer, good_answer, question, running
from tests.labels_data import fine_copy

OPENAI_KEY = "sk-test-OPENAI-4242-secret"
MISTRAL_KEY = "mistral-test-KEY-7777-secret"
FAST = ChatSettings(concurrency=3, attempts=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=10)


@pytest.fixture
def server() -> Any:
    with running() as chat:
        yield chat


@pytest.fixture
def data(built_data: dict[str, Any], tmp_path: Path, server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    """A private copy of the built sample, with custom models for our server and keys in its .env."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(tmp_path / "data"))
    data, _ = fine_copy(built_data, tmp_path / "data")
    models = [
        {"id": "local-oai", "provider": "openai-compatible", "model": "tiny", "base_url": server.openai_url},
        {"id": "local-openai", "provider": "openai", "model": "gpt-test", "base_url": server.openai_url},
        {"id": "local-mistral", "provider": "mistral", "model": "mistral-test", "base_url": server.mistral_url},
    ]
    (data.root / "_models.json").write_text(json.dumps(models))
    (data.root / ".env").write_text(f"OPENAI_API_KEY={OPENAI_KEY}\nMISTRAL_API_KEY={MISTRAL_KEY}\n")
    return data


@pytest.fixture
def cluster_id(data: DataDir) -> str:
    """The finer clustering fine_copy made: the newest in the copy."""
    return data.dataset("sample").ids("cluster")[-1]


def _label(data: DataDir, cluster_id: str, model: str, **params: Any) -> Any:
    return steps.label(data.dataset("sample"), cluster_id, LabelParams(labeler=model, **params), chat=FAST)


def _questions(data: DataDir, cluster_id: str, levels: int = LabelParams.levels) -> int:
    """Clusters plus the topics of each labelled level of the clustering's tree: what one complete run asks."""
    ds = data.dataset("sample")
    defaults = pd.read_parquet(ds.file("cluster", f"{cluster_id}-labels-default", ".parquet"))
    tree = ds.sidecar("cluster", cluster_id)["hierarchy"][:levels]
    return int((~defaults["noise"]).sum()) + sum(len(set(level.values())) for level in tree)


def _files_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file() and p.name != ".env")


@pytest.mark.parametrize("model", ["local-oai", "local-openai", "local-mistral"])
def test_llm_labels_every_cluster_and_topic(
    data: DataDir, cluster_id: str, server: ChatServer, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    artifact = _label(data, cluster_id, model, context="Debian package descriptions")
    ds = data.dataset("sample")
    table = pd.read_parquet(ds.file("labels", artifact.id, ".parquet"))
    topics = pd.read_parquet(ds.file("labels", artifact.id, "-levels.parquet"))
    named = table[~table["noise"]]
    expected = _questions(data, cluster_id)
    assert len(server.log) == expected == len(named) + len(topics)
    assert named["label"].str.fullmatch(r"Topic [0-9a-f]{6}").all() and named["label"].is_unique
    assert set(named["labeler"]) == {model} and set(topics["labeler"]) == {model}
    assert set(named["parent"]) == set(topics["cluster"])
    assert all("Debian package descriptions" in question(entry.body) for entry in server.log)
    usage = artifact.sidecar["usage"]
    assert usage["requests"] == expected and usage["completion_tokens"] == 11 * expected
    assert usage["prompt_tokens"] == sum(sum(len(m["content"]) for m in e.body["messages"]) // 4 for e in server.log)
    assert artifact.sidecar["model"]["id"] == model and artifact.sidecar["fallbacks"] == []
    key = MISTRAL_KEY if model == "local-mistral" else OPENAI_KEY
    if model != "local-oai":  # the key reaches the server, and nowhere else
        assert {e.headers.get("authorization") for e in server.log} == {f"Bearer {key}"}
    assert key not in caplog.text and key not in _files_text(data.root)
    assert ds.file("labels", artifact.id, "-llm.jsonl").is_file()


def test_429_is_retried(data: DataDir, cluster_id: str, server: ChatServer) -> None:
    server.reply = lambda n, body: (429, "slow down") if n == 0 else (200, good_answer(body))
    artifact = _label(data, cluster_id, "local-openai")
    assert [e.status for e in server.log].count(429) == 1
    assert len(server.ok()) == _questions(data, cluster_id) == artifact.sidecar["usage"]["requests"]
    assert artifact.sidecar["fallbacks"] == []


def test_labels_report_requests_retries_tokens_and_cost_as_dagster_metadata(
    data: DataDir, cluster_id: str, server: ChatServer
) -> None:
    from ls_pipeline.defs.metadata import usage_metadata

    server.reply = lambda n, body: (429, "slow down") if n in (0, 1) else (200, good_answer(body))
    artifact = _label(data, cluster_id, "local-openai")
    ds = data.dataset("sample")
    unpriced = usage_metadata(ds, artifact.sidecar)
    assert unpriced["estimated_cost_usd"] == "no price for this model (add it to _prices.yaml)"
    # The team's own price table: a million prompt tokens at 2 dollars, a million answer tokens at 8.
    data.prices_file.write_text("local-openai: {input: 2.0, output: 8.0}\n")
    found = usage_metadata(ds, artifact.sidecar)
    requests = _questions(data, cluster_id)
    assert found["requests"] == requests and found["retries"] == 2 and found["model"] == "local-openai"
    assert (
        found["output_tokens"] == 11 * requests and found["input_tokens"] == artifact.sidecar["usage"]["prompt_tokens"]
    )
    expected = (found["input_tokens"] * 2.0 + found["output_tokens"] * 8.0) / 1e6
    assert found["estimated_cost_usd"] == pytest.approx(expected, abs=1e-6)
    data.prices_file.write_text("local-openai: {input: cheap}\n")
    with pytest.raises(UserError, match="price of 'local-openai'"):
        usage_metadata(ds, artifact.sidecar)


@pytest.mark.parametrize("model", ["local-openai", "local-mistral"])
def test_500_three_times_is_one_clear_error(data: DataDir, cluster_id: str, server: ChatServer, model: str) -> None:
    server.reply = lambda n, body: (500, "upstream exploded")
    ds = data.dataset("sample")
    with pytest.raises(UserError) as failure:
        _label(data, cluster_id, model)
    message = str(failure.value)
    assert "\n" not in message and "after 3 tries" in message and "HTTP 500" in message and "rerun" in message
    assert OPENAI_KEY not in message and MISTRAL_KEY not in message
    assert ds.all_ids("labels") == [] and not list(ds.folder("labels").glob("*-labels-0*"))
    question_count = len({question(e.body) for e in server.log})
    assert len(server.log) == 3 * question_count  # every call tried exactly 3 times, none after the failure


def test_malformed_answer_is_asked_again_then_falls_back(data: DataDir, cluster_id: str, server: ChatServer) -> None:
    asked: dict[str, int] = {}

    def reply(n: int, body: dict[str, Any]) -> tuple[int, str]:
        text = question(body)
        asked[text] = asked.get(text, 0) + 1
        if text == next(iter(asked)):  # the first question asked never gets JSON: it falls back
            return 200, "I think these are about packaging."
        if asked[text] == 1:
            return 200, '```json\n{"label": broken'  # malformed once, fine after the repair request
        return 200, "Sure!\n```json\n" + good_answer(body) + "\n```"

    server.reply = reply
    artifact = _label(data, cluster_id, "local-oai", levels=0)
    table = pd.read_parquet(data.dataset("sample").file("labels", artifact.id, ".parquet"))
    named = table[~table["noise"]]
    fallback = named[named["labeler"] == FALLBACK]
    assert len(fallback) == 1 and artifact.sidecar["fallbacks"] == [str(fallback["cluster"].iloc[0])]
    assert fallback["label"].iloc[0] and not fallback["label"].iloc[0].startswith("Topic ")
    assert named.loc[named["labeler"] == "local-oai", "label"].str.fullmatch(r"Topic [0-9a-f]{6}").all()
    assert all(count == 2 for count in asked.values())  # one repair request each, never a third
    repair = [e.body["messages"] for e in server.log if len(e.body["messages"]) > 2]
    assert len(repair) == len(named) and all(m[-1]["role"] == "user" for m in repair)


def test_interrupted_run_resumes_without_asking_twice(data: DataDir, cluster_id: str, server: ChatServer) -> None:
    server.reply = lambda n, body: (200, good_answer(body)) if n < 4 else (503, "maintenance")
    with pytest.raises(UserError, match="are saved, rerun"):
        _label(data, cluster_id, "local-mistral")
    answered_before = len(server.ok())
    assert answered_before == 4
    server.reply = lambda n, body: (200, good_answer(body))
    artifact = _label(data, cluster_id, "local-mistral")
    answered = [question(e.body) for e in server.ok()]
    assert len(answered) == len(set(answered)) == _questions(data, cluster_id)  # no question paid for twice
    assert artifact.sidecar["resumed_answers"] == answered_before
    assert artifact.sidecar["usage"]["requests"] == len(answered)
    journal = data.dataset("sample").file("labels", artifact.id, "-llm.jsonl").read_text().splitlines()
    assert len(journal) == len(answered)


def test_missing_key_fails_before_any_call(data: DataDir, cluster_id: str, server: ChatServer) -> None:
    (data.root / ".env").write_text("")
    with pytest.raises(UserError, match="needs MISTRAL_API_KEY"):
        _label(data, cluster_id, "local-mistral")
    with pytest.raises(UserError, match="unknown labeler 'gpt-nope'"):
        _label(data, cluster_id, "gpt-nope")
    assert server.log == []


def test_cli_label_and_list_models(
    data: DataDir, cluster_id: str, server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from ls_pipeline import cli

    assert cli.ls_list_models([]) == 0
    listing = capsys.readouterr().out
    assert "openai-gpt-4o-mini" in listing and "mistral-mistral-small-latest" in listing and "local-oai" in listing
    assert "all-MiniLM-L6-v2" in listing and OPENAI_KEY not in listing
    argv = ["sample", "text", cluster_id, "local-oai", "Debian packages"]
    assert cli.ls_label(argv) == 0
    labels_id = capsys.readouterr().out.strip()
    assert labels_id.startswith(cluster_id + "-labels-") and len(server.ok()) > 0
    server.reply = lambda n, body: (500, "down")
    assert cli.ls_label([*argv[:4], "other context"]) == 2
    err = capsys.readouterr().err.strip()
    # retry notes may come first (progress on stderr); the error itself is one line, the last
    *notes, last = err.strip().splitlines()
    assert last.startswith("ls-label: error: chat model 'local-oai' failed after 3 tries: HTTP 500")
    assert all("try" in note and "Traceback" not in note for note in notes)


def test_killed_process_resumes_from_its_journal(data: DataDir, cluster_id: str, server: ChatServer) -> None:
    """ls-label killed (SIGKILL) mid-run: the rerun asks only what the first run had no answer for."""
    gate = threading.Event()

    def reply(n: int, body: dict[str, Any]) -> tuple[int, str]:
        if n < 4:
            return 200, good_answer(body)
        gate.wait(60)  # hang, as a slow provider would, until the process is gone
        return 503, "gone"

    server.reply = reply
    argv = ["sample", "text", cluster_id, "local-oai", "Debian packages"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "LATENT_SCOPE_DATA": str(data.root)}
    code = "import sys; from ls_pipeline.cli import label_main; sys.argv[1:] = " + repr(argv) + "; label_main()"
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
    try:
        journal = _wait_for_journal(data.dataset("sample").folder("labels"), lines=4, timeout=90)
    finally:
        process.kill()
        process.wait()
        gate.set()
    assert len(journal.read_text().splitlines()) == 4
    server.reply = lambda n, body: (200, good_answer(body))
    from ls_pipeline import cli

    assert cli.ls_label(argv) == 0
    labels_id = data.dataset("sample").all_ids("labels")[-1]
    sidecar = data.dataset("sample").sidecar("labels", labels_id)
    answered = [question(e.body) for e in server.ok()]
    assert len(answered) == len(set(answered)) == _questions(data, cluster_id)
    assert sidecar["resumed_answers"] == 4 and not journal.exists()


def _wait_for_journal(folder: Path, lines: int, timeout: float) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in folder.glob(".labels-*-llm.jsonl.partial"):
            if len(path.read_text().splitlines()) >= lines:
                return path
        time.sleep(0.1)
    raise AssertionError(f"no journal with {lines} answers in {folder} after {timeout}s")


def test_same_answer_for_every_cluster_still_gives_distinct_labels(
    data: DataDir, cluster_id: str, server: ChatServer
) -> None:
    server.reply = lambda n, body: (200, '{"label": "Software", "description": "Programs."}')
    artifact = _label(data, cluster_id, "local-oai", levels=0)
    named = pd.read_parquet(data.dataset("sample").file("labels", artifact.id, ".parquet")).query("~noise")
    assert named["label"].is_unique and (named["label"].iloc[0] == "Software")
    assert named["label"].iloc[1:].str.fullmatch(r"Software \(\w[\w ]*\)").all()
