"""The real Dagster UI in headless Chromium: a new recipe made in the launchpad, run by the daemon, explored in ours."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ls_pipeline import steps
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.store import DataDir
from tests.browser import ARTIFACTS, chromium, viewer_server
from tests.test_dagster_server import hostile_dotenv, server  # noqa: F401  (fixtures: webserver + daemon)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")


@pytest.fixture
def posts(data_dir: Path, sample_frame: pd.DataFrame) -> Path:
    """Dataset 'posts' (120 rows) ingested before the webserver starts (the server fixture registers its partition)."""
    steps.ingest(DataDir(data_dir), "posts", sample_frame.head(120), IngestParams(text_column="text"))
    return data_dir


# What is typed into the launchpad over the default recipe: UMAP's neighbours and HDBSCAN's sizes made for 120 rows.
# With clusters of 15 (and neighbours 7), 120 rows leave room for only a few clusters, and the noise share crossed
# the default max_noise_share on another CPU; clusters of 8 keep the count and the share far from the limits on any
# CPU and UMAP seed (bench/test_margins.py).
EDITS = {
    "neighbors: 25": "neighbors: 10",
    "min_cluster_size: 15": "min_cluster_size: 8",
    "min_samples: 5": "min_samples: 3",
}


def launch_new_recipe(page: Any, base: str, name: str) -> None:
    """As a user would: add the recipe partition, open the job's launchpad on it, change three parameters, launch."""
    page.goto(f"{base}/assets/scope")
    materialize = page.get_by_role("button", name="Materialize").first
    materialize.wait_for(timeout=60_000)
    try:  # the first-visit newsletter dialog, shown a moment after the page
        page.get_by_role("button", name="Skip").click(timeout=10_000)
    except PlaywrightTimeout:
        pass
    materialize.click()
    try:  # "upstream assets have not been materialized yet": they will be, in this run
        page.get_by_role("button", name="Confirm").click(timeout=5_000)
    except PlaywrightTimeout:
        pass
    page.get_by_text("Add a partition").nth(1).click(timeout=60_000)  # the second dimension: recipe
    page.get_by_text("Add a partition for recipes").wait_for()
    # Into the dialog's own field (typing at the keyboard raced the dialog's focus on a loaded machine).
    field = page.get_by_role("dialog").last.locator("input:not([type=checkbox])").first
    field.fill(name)
    page.wait_for_function("name => [...document.querySelectorAll('input')].some(i => i.value === name)", arg=name)
    page.get_by_role("button", name="Save").click()
    page.wait_for_timeout(1000)
    page.goto(f"{base}/locations/latent_scope/jobs/recipe_job/playground")
    page.get_by_placeholder("Partition").click()
    page.get_by_text(f"posts|{name}").click()
    editor = "document.querySelector('.CodeMirror').CodeMirror"
    page.wait_for_function(f"() => {editor}.getValue().includes('neighbors: 25')", timeout=30_000)
    # The editor is CodeMirror: set its text the way typing would, with the values changed.
    edits = ".".join(f"replace({old!r}, {new!r})" for old, new in EDITS.items())
    page.evaluate(f"() => {{ const c = {editor}; c.setValue(c.getValue().{edits}) }}")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "dagster-launchpad.png"))
    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url("**/runs/**", timeout=30_000)


@pytest.mark.numeric  # the run must pass the recipe's cluster checks: the test that flipped on another CPU
def test_a_recipe_made_in_the_launchpad_runs_and_opens_in_the_viewer(posts: Path, server: Any) -> None:  # noqa: F811
    port, _home = server
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            launch_new_recipe(page, base, "wide")
        finally:
            page.screenshot(path=str(ARTIFACTS / "dagster-ui-last.png"))
        run_id = page.url.rstrip("/").split("/runs/")[-1]
        client, status, deadline = DagsterGraphQLClient("127.0.0.1", port_number=port), None, time.monotonic() + 300
        while time.monotonic() < deadline:
            status = client.get_run_status(run_id)
            if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                break
            time.sleep(2)
        assert status == dg.DagsterRunStatus.SUCCESS, page.inner_text("body")[-2000:]
        saved = yaml.safe_load((posts / "_recipes" / "wide.yaml").read_text())
        assert saved["umap"]["neighbors"] == 10 and saved["cluster"]["min_cluster_size"] == 8
        assert saved["cluster"]["min_samples"] == 3 and saved["umap"]["min_dist"] == 0.1  # the rest as the default's
        umaps = [json.loads(p.read_text()) for p in (posts / "posts" / "umaps").glob("*.json")]
        laid_out = [u for u in umaps if "redrawn_from" not in u]  # besides the map its clustering redrew
        assert [u["params"]["neighbors"] for u in laid_out] == [10] and len(umaps) == 2
        with viewer_server(posts) as viewer:
            with urllib.request.urlopen(f"{viewer}/api/datasets/posts/scopes", timeout=10) as response:
                scopes = json.load(response)
            assert len(scopes) == 1
            scope_id = scopes[0]["id"]
            page.goto(f"{viewer}/datasets/posts/explore/{scope_id}")
            page.locator("canvas").first.wait_for(timeout=30_000)
            assert "posts" in page.inner_text("body")
