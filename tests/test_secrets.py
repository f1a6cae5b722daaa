"""API keys never leak: with fake keys in the environment and in the data directory's .env, a whole run through
the CLI and through Dagster (keyword labels), plus failing commands, leaves no trace of any key in any file under
the data directory (Dagster's event log included), in ./.env, or in anything the commands printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import DEMO, TINY_RECIPE
from tests.embedding_server import EmbeddingServer, running

CANARY = "LEAKCANARY"
KEYS = {
    "OPENAI_API_KEY": f"sk-{CANARY}-openai-from-env-0123456789",
    "MISTRAL_API_KEY": f"{CANARY}-mistral-from-env-0123456789",
}
INIT_KEYS = {"--openai_key": f"sk-{CANARY}-openai-from-init", "--mistral_key": f"{CANARY}-mistral-from-init"}


def _ls(name: str, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name(name)), *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_api_keys_appear_nowhere_but_the_data_directory_env(tmp_path: Path) -> None:
    with running(EmbeddingServer()) as embeddings:
        _run_and_look_for_keys(tmp_path, embeddings)


def _run_and_look_for_keys(tmp_path: Path, embeddings: EmbeddingServer) -> None:
    root, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    repo = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("LATENT_SCOPE_DATA", "DAGSTER_HOME")}
    env.update(KEYS, HF_HUB_OFFLINE="1", PYTHONPATH=str(repo))  # DAGSTER_HOME: the default, DATA/_dagster
    env["OPENAI_BASE_URL"] = embeddings.openai_url  # the OpenAI embedding ids reach our server, with the key
    pd.read_parquet(DEMO).head(60).to_csv(work / "keys.csv", index=False)
    (work / "small.yaml").write_text(TINY_RECIPE)

    done = [_ls("ls-init", str(root), *[x for pair in INIT_KEYS.items() for x in pair], env=env, cwd=work)]
    assert done[0].returncode == 0, done[0].stderr
    done += [
        _ls("ls-recipe", "add", "small", "small.yaml", env=env, cwd=work),
        _ls("ls-ingest", "keys", "keys.csv", env=env, cwd=work),
        _ls("ls-run", "keys", "--recipe", "small", env=env, cwd=work),  # through Dagster
        _ls("ls-run", "keys", "--recipe", "small", "--no-dagster", env=env, cwd=work),
        _ls("ls-label", "keys", "text", "cluster-001", "keywords", f"context {CANARY}-not-a-key", env=env, cwd=work),
        _ls("ls-embed", "keys", "text", "openai-text-embedding-3-small", "--dimensions", "32", env=env, cwd=work),
    ]
    for step in [*done[1:5], done[6]]:
        assert step.returncode == 0, step.stderr
    assert {r.headers["authorization"] for r in embeddings.log} == {f"Bearer {KEYS['OPENAI_API_KEY']}"}
    embeddings.policy = lambda number, inputs: 401  # a refused key: the error names the status, never the key
    failing = [
        _ls("ls-run", "ghost", "--recipe", "small", env=env, cwd=work),
        _ls("ls-run", "keys", "--recipe", "nope", env=env, cwd=work),
        _ls("ls-label", "keys", "text", "cluster-001", "gpt-4o-mini", env=env, cwd=work),
        _ls("ls-embed", "keys", "text", "openai/text-embedding-3-small", env=env, cwd=work),
        _ls("ls-embed", "keys", "text", "openai-text-embedding-3-large", env=env, cwd=work),
    ]
    for step in failing:
        assert step.returncode == 2 and len(step.stderr.strip().splitlines()) >= 1, step.stderr
    assert "HTTP 401 (check the API key)" in failing[-1].stderr
    assert (root / "_dagster").is_dir() and list((root / "_dagster").rglob("*.db")), "Dagster kept no event log here"

    # The keys are where ls-init put them (so the search below can find them) and nowhere else.
    dotenv = (root / ".env").read_text()
    assert all(value in dotenv for value in INIT_KEYS.values()) and (root / ".env").stat().st_mode & 0o077 == 0
    secrets = [v.encode() for v in (*KEYS.values(), *INIT_KEYS.values())]
    leaks = [
        str(path.relative_to(tmp_path))
        for path in [*root.rglob("*"), work / ".env"]
        if path.is_file() and path != root / ".env" and any(s in path.read_bytes() for s in secrets)
    ]
    assert leaks == []
    for step in done + failing:
        printed = (step.stdout + step.stderr).encode()
        assert not any(s in printed for s in secrets), step.args
