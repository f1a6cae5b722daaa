"""A sweep launched from the Dagster UI's API and run by the real daemon: the sweep run saves the grid's recipes and
submits one backfill; the daemon runs it; shared stages are computed once (one embedding, one UMAP per map)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from dagster._core.execution.backfill import BulkActionStatus  # the status the UI's backfill page shows
from dagster_graphql import DagsterGraphQLClient

from ls_pipeline import steps
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.store import DataDir
from ls_pipeline.store.layout import EXPORT_SIDECAR
from tests.test_dagster_server import hostile_dotenv, server  # noqa: F401  (fixtures: dg dev, webserver + daemon)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")
# Cheap stages, so the grid's runs take seconds: clusters on the 2D map, no topic levels.
BASE = """
description: the daemon sweep's base
umap: {seed: 3}
cluster: {min_samples: 2, cluster_on: umap}
label: {levels: 0}
checks: {max_noise_share: 0.95, min_clusters: 1}
"""
DONE = (BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED_FAILED, BulkActionStatus.FAILED)


@pytest.fixture
def posts(data_dir: Path, sample_frame: pd.DataFrame) -> Path:
    """Dataset 'posts' (100 rows) and the base recipe, before the server starts (it registers the dataset)."""
    steps.ingest(DataDir(data_dir), "posts", sample_frame.head(100), IngestParams(text_column="text"))
    (data_dir / "_recipes").mkdir()
    (data_dir / "_recipes" / "small.yaml").write_text(BASE)
    return data_dir


def test_a_sweep_of_four_recipes_runs_as_one_backfill_through_the_daemon(posts: Path, server: Any) -> None:  # noqa: F811
    port, home = server
    grid = {"umap_neighbors": [6, 10], "cluster_min_cluster_size": [5, 8]}  # 4 recipes over 2 distinct maps
    config = {"dataset": "posts", "name": "g", "base": "small", **grid}
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution("sweep_job", run_config={"ops": {"sweep": {"config": config}}})
    deadline, backfill = time.monotonic() + 240, None
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        while time.monotonic() < deadline:
            backfills = instance.get_backfills()
            backfill = backfills[0] if backfills else None
            if backfill is not None and backfill.status in DONE:
                break
            run = instance.get_run_by_id(run_id)
            assert run is None or run.status != dg.DagsterRunStatus.FAILURE, "the sweep run failed"
            time.sleep(2)
        assert backfill is not None and backfill.status == BulkActionStatus.COMPLETED_SUCCESS, backfill
        assert [b.title for b in instance.get_backfills()] == ["sweep g of posts"]
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
        assert len(runs) == 4 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    ds = posts / "posts"
    assert len(list(ds.glob("embeddings/*.json"))) == 1
    assert len(list(ds.glob("umaps/*.json"))) == 2  # one per distinct (neighbors, min_dist)
    clusterings = [p for p in ds.glob("clusters/*.json") if "-labels-" not in p.name]  # labels sit beside them
    scopes = [p for p in ds.glob("scopes/*.json") if not p.name.endswith(EXPORT_SIDECAR)]  # not the exports
    assert len(clusterings) == 4 and len(scopes) == 4
