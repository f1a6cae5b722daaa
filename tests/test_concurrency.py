"""Two runs of the same dataset x recipe at once, one `ls-run --no-dagster` and one through Dagster, as real
processes: each stage is computed once (the other run waits on the lock, then reuses it), both report the same
ids, ids stay sequential and unique, and there is one artifact per fingerprint.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from tests.conftest import DEMO

RECIPE = """
description: concurrency test
umap: {neighbors: 10, min_dist: 0.1, seed: 7}
cluster: {min_cluster_size: 5, min_samples: 3}
checks: {max_noise_share: 0.95, min_clusters: 2, max_clusters: 200}
"""
KINDS = {"embedding": "embeddings", "umap": "umaps", "cluster": "clusters", "labels": "clusters", "scope": "scopes"}


def _ls(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_two_runs_at_once_compute_each_stage_once_and_agree(tmp_path: Path) -> None:
    from ls_pipeline import steps
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    root = tmp_path / "data"
    data = DataDir(root)
    steps.ingest(data, "both", pd.read_parquet(DEMO).head(80), IngestParams(text_column="text"))
    repo = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "LATENT_SCOPE_DATA": str(root),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(repo),
    }
    (tmp_path / "race.yaml").write_text(RECIPE)
    added = subprocess.run([_ls("ls-recipe"), "add", "race", str(tmp_path / "race.yaml")], env=env, timeout=300)
    assert added.returncode == 0

    # Output to files, not pipes: nobody reads a pipe while the runs go, and a full one would stall a run.
    logs = [(open(tmp_path / f"out{i}", "w+"), open(tmp_path / f"err{i}", "w+")) for i in range(2)]
    runs = [
        subprocess.Popen([_ls("ls-run"), "both", "--recipe", "race", *extra], env=env, stdout=out, stderr=err)
        for extra, (out, err) in zip((["--no-dagster"], []), logs, strict=True)
    ]
    seen: set[str] = set()
    while any(run.poll() is None for run in runs):  # what another reader could see while both write
        for folder in {root / "both" / f for f in KINDS.values()}:
            if folder.is_dir():
                seen.update(p.name for p in folder.iterdir())
        time.sleep(0.01)
    results = []
    for run, (out, err) in zip(runs, logs, strict=True):
        out.seek(0), err.seek(0)
        results.append((run.returncode, out.read(), err.read()))
        out.close(), err.close()
    for code, _, err in results:
        assert code == 0, err

    # Both report the same artifact of every stage.
    reported = [dict(line.split(": ", 1) for line in out.strip().splitlines()) for _, out, _ in results]
    assert reported[0] == reported[1]
    assert reported[0] == {
        "embedding": "embedding-001",
        "umap": "umap-001",
        "cluster": "cluster-001",
        "labels": "cluster-001-labels-001",
        "scope": "scopes-001",
    }

    # One artifact per kind and fingerprint, ids sequential from 001, no staged or temp file left, and every
    # finished file that was ever visible is one of the final set (no second id was allocated and dropped).
    ds = data.dataset("both")
    redrawn = ds.sidecar("cluster", reported[0]["cluster"]).umap_id  # the map the clustering redrew: umap-002
    expected = {kind: [artifact] for kind, artifact in reported[0].items()} | {"umap": [reported[0]["umap"], redrawn]}
    for kind in KINDS:
        sidecars = list(ds.sidecars(kind))
        assert [s["id"] for s in sidecars] == expected[kind], kind
        assert len({s["fingerprint"] for s in sidecars}) == len(expected[kind])
    final = {p.name for f in KINDS.values() for p in (root / "both" / f).iterdir()}
    assert not [name for name in final if name.startswith(".")], final
    assert {name for name in seen if not name.startswith(".")} <= final
    assert not re.search(r"-00[23][.-]", " ".join(n for n in final if not n.startswith(f"{redrawn}.")))

    # Each stage was computed by exactly one of the two runs; the other reused it (after waiting, where they met).
    both = "\n".join(err for _, _, err in results)
    assert len(re.findall(rf"wrote {redrawn} in", both)) == 1, both  # inside the clustering that was computed
    for artifact_id in reported[0].values():
        assert len(re.findall(rf"wrote {artifact_id} in", both)) == 1, both
        for _, _, err in results:
            assert re.search(rf"(wrote|reused) {artifact_id}\b", err), err
    assert json.loads((root / "both" / "embeddings" / "embedding-001.json").read_text())["rows"] == 80
