"""examples/support_tickets end to end: a real PostgreSQL table, the team's asset reading it, the LatentScope
component, and dagster-daemon running declarative automation. Rows inserted into the table reach the map, placed on
it, while the rows already embedded and laid out are reused, not recomputed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy
import yaml

from tests.conftest import SMALL_RECIPE
from tests.workers_support import start_postgres

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support_tickets"
BIN = Path(sys.executable).parent
FIRST, ADDED = 240, 12


def tickets(frame: pd.DataFrame, start: int, n: int) -> pd.DataFrame:
    part = frame.iloc[start : start + n]
    return pd.DataFrame(
        {
            "id": range(start, start + n),
            "subject": part["section"].to_numpy(),
            "body": part["text"].to_numpy(),
            "updated_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(range(start, start + n), unit="min"),
        }
    )


def wait_for(path: Path, daemon: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.is_file():
        assert daemon.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no {path.name} after {timeout_s:.0f}s: " + log.read_text()[-3000:]
        time.sleep(2)


def sidecar(data: Path, kind: str, artifact: str) -> dict[str, Any]:
    return json.loads((data / "tickets" / kind / f"{artifact}.json").read_text())


def test_rows_inserted_upstream_reach_the_map_by_automation(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    postgres, url, _folder = start_postgres()
    home, data, log = tmp_path / "home", tmp_path / "data", tmp_path / "daemon.log"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    with dg.DagsterInstance.local_temp(str(home)):
        pass  # the SQLite schema, created before the daemon's threads race to create it
    # The example maps with recipe `small`: the tests' small recipe, whose checks suit a few hundred rows.
    (data / "_recipes").mkdir(parents=True)
    (data / "_recipes" / "small.yaml").write_text(SMALL_RECIPE)
    engine = sqlalchemy.create_engine(url)
    tickets(sample_frame, 0, FIRST).to_sql("tickets", engine, index=False)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LATENT_SCOPE_DATA": str(data),
        "TICKETS_DB_URL": url,
        "PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(ROOT)]),
        "HF_HUB_OFFLINE": "1",
    }
    command = [str(BIN / "dagster-daemon"), "run", "-w", str(EXAMPLE / "workspace.yaml")]
    with log.open("wb") as out:
        daemon = subprocess.Popen(command, cwd=EXAMPLE, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        wait_for(data / "tickets" / "scopes" / "scopes-001.json", daemon, log, timeout_s=600)
        tickets(sample_frame, FIRST, ADDED).to_sql("tickets", engine, index=False, if_exists="append")
        wait_for(data / "tickets" / "scopes" / "scopes-002.json", daemon, log, timeout_s=600)
    finally:
        engine.dispose()
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGINT)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
        postgres.terminate()
        postgres.wait(timeout=30)

    rows = pd.read_parquet(data / "tickets" / "input.parquet")
    assert rows["id"].tolist() == list(range(FIRST + ADDED))  # the new rows appended: no ls_index renumbered
    embedding = sidecar(data, "embeddings", "embedding-002")
    assert embedding["rows_embedded"] == ADDED and embedding["rows_from_cache"] == FIRST
    # The 2D map (not the 10D one made for clustering): the new rows placed on the first map, the others kept.
    [placed] = [
        s for s in map(json.loads, map(Path.read_text, (data / "tickets" / "umaps").glob("*.json"))) if "placed_on" in s
    ]
    assert placed["placed_rows"] == ADDED and placed["kept_rows"] == FIRST
    points = pd.read_parquet(data / "tickets" / "scopes" / "scopes-002.parquet")
    assert len(points) == FIRST + ADDED and points[["x", "y"]].notna().all().all()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        # The map was made twice (first rows, new rows), both by automation; nothing was requested by hand.
        scope = dg.AssetKey(["support", "tickets_map", "scope"])
        done = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=scope), limit=10).records
        assert len(done) == 2
        runs = [instance.get_run_by_id(record.run_id) for record in done]
        assert all(run and run.tags.get("dagster/from_automation_condition") == "true" for run in runs)


def test_dg_check_defs_passes_in_the_example_and_scaffolds_the_component(tmp_path: Path) -> None:
    """As a team adds the component: `dg scaffold defs` writes a defs.yaml of its type; `dg check defs` loads it."""
    project = tmp_path / "support_tickets"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]), "HF_HUB_OFFLINE": "1"}
    dg_cli = str(BIN / "dg")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([dg_cli, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300)

    done = run("check", "defs")
    assert done.returncode == 0 and "All definitions loaded successfully." in done.stdout, done.stderr[-2000:]
    assert run("scaffold", "defs", "ls_pipeline.LatentScope", "reviews_map").returncode == 0
    made = project / "support_tickets" / "defs" / "reviews_map" / "defs.yaml"
    scaffolded = yaml.safe_load(made.read_text())
    assert scaffolded["type"] == "ls_pipeline.LatentScope"
    assert scaffolded["attributes"]["dataset"] == "reviews_map" and "path" in scaffolded["attributes"]["source"]
    done = run("check", "defs")  # the scaffolded component loads as it is (its file is read when it runs)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    made.write_text(
        "type: ls_pipeline.LatentScope\nattributes:\n  dataset: reviews\n  source: {path: reviews.csv}\n"
        "  recipes: [reviews]\n"
    )
    broken = run("check", "defs")
    assert (
        broken.returncode != 0
        and "name the recipe differently from the dataset 'reviews'" in broken.stdout + broken.stderr
    )
