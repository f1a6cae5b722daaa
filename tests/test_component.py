"""The LatentScope component: two in one project, a DuckDB and a PostgreSQL source upserted by key, rows gone
upstream flagged, a watermark, and database URLs kept out of everything written."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest
import sqlalchemy
from dagster.components.core.component_tree import ComponentTree

from ls_pipeline.defs.component import LatentScope
from ls_pipeline.errors import UserError
from ls_pipeline.sources import sql
from ls_pipeline.stages.ingest import REMOVED_UPSTREAM
from tests.conftest import SMALL_RECIPE
from tests.workers_support import start_postgres

PASSWORD = "hunter2-not-in-files"


def build(**attributes: object) -> dg.Definitions:
    return LatentScope.model_validate(attributes).build_defs(ComponentTree.for_test().load_context)


def small_recipe(root: Path) -> None:
    (root / "_recipes").mkdir(parents=True, exist_ok=True)
    (root / "_recipes" / "small.yaml").write_text(SMALL_RECIPE)


def rows(sample_frame: pd.DataFrame, n: int, start: int = 0) -> pd.DataFrame:
    frame = sample_frame[["text", "section"]].iloc[start : start + n].copy()
    frame.insert(0, "id", range(start, start + n))
    return frame.reset_index(drop=True)


def ingest_metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    [event] = result.asset_materializations_for_node(node)
    return {key: getattr(value, "value", value) for key, value in event.metadata.items()}


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    process, url, _folder = start_postgres()
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_two_components_coexist_under_their_prefixes(tmp_path: Path) -> None:
    @dg.asset
    def tickets() -> pd.DataFrame:
        return pd.DataFrame({"id": [1], "text": ["a"]})

    reviews = build(dataset="reviews", source={"sql": "SELECT * FROM r", "url_env": "SHOP_DB"}, recipes=["small"])
    support = build(dataset="tickets", key_prefix="support/map", source={"asset": "tickets"}, data_dir=str(tmp_path))
    defs = dg.Definitions.merge(reviews, support, dg.Definitions(assets=[tickets]))
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    stages = ["recipe", "exclusions", "ingest", "embedding", "umap", "clusters", "labels", "scope", "export"]
    assert {f"reviews/{s}" for s in stages} | {f"support/map/{s}" for s in stages} | {"tickets"} == keys
    # Partitions of their own: static, so nothing is shared through the instance's dynamic partition names.
    assert graph.get(dg.AssetKey(["reviews", "ingest"])).partitions_def.get_partition_keys() == ["reviews"]
    scope = graph.get(dg.AssetKey(["support", "map", "scope"])).partitions_def
    assert [str(k) for k in scope.get_partition_keys()] == ["tickets|default"]
    # The upstream asset is the ingest's parent: lineage runs from the team's asset to the map.
    assert graph.get(dg.AssetKey(["support", "map", "ingest"])).parent_keys == {dg.AssetKey("tickets")}
    assert {j.name for j in defs.jobs} >= {"reviews__recipe_job", "support__map__recipe_job"}
    assert {s.name for s in defs.sensors} == {"reviews__automation_sensor", "support__map__automation_sensor"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"sql": "SELECT 1"}, "needs url_env"),
        ({"sql": "SELECT 1", "url_env": "postgresql://me:pw@db/x"}, "not the URL itself"),
        ({"sql": "SELECT 1", "url_env": "DB", "path": "x.csv"}, "exactly one of asset, sql or path"),
        ({"path": "x.csv", "recipes": ["reviews"]}, "name the recipe differently from the dataset 'reviews'"),
    ],
)
def test_a_source_is_checked_when_the_project_loads(source: dict[str, Any], message: str) -> None:
    recipes = source.pop("recipes", ["default"])
    with pytest.raises(ValueError, match=message):
        build(dataset="reviews", source=source, recipes=recipes)


def test_duckdb_rows_upserted_by_key_and_gone_rows_flagged(
    tmp_path: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, db = tmp_path / "data", tmp_path / "shop.duckdb"
    small_recipe(root)
    with duckdb.connect(str(db)) as con:
        con.register("first", rows(sample_frame, 120))
        con.execute("CREATE TABLE reviews AS SELECT * FROM first")
    monkeypatch.setenv("SHOP_DB", f"duckdb:///{db}")
    source = {"sql": "SELECT id, text, section FROM reviews", "url_env": "SHOP_DB"}
    defs = build(dataset="reviews", source=source, upsert_key="id", recipes=["small"], data_dir=str(root))
    instance = dg.DagsterInstance.ephemeral()
    ingest = defs.resolve_job_def("reviews__ingest_job")
    done = ingest.execute_in_process(partition_key="reviews", instance=instance)
    assert ingest_metadata(done, "reviews__ingest")["rows"] == 120
    recipe = defs.resolve_job_def("reviews__recipe_job")
    key = dg.MultiPartitionKey({"dataset": "reviews", "recipe": "small"})
    assert recipe.execute_in_process(partition_key=key, instance=instance).success
    assert (root / "reviews" / "scopes" / "scopes-001.json").is_file()

    # Upstream: one row edited, one deleted, ten added.
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE reviews SET text = 'an edited review about maps' WHERE id = 5")
        con.execute("DELETE FROM reviews WHERE id = 7")
        con.register("more", rows(sample_frame, 10, start=200))
        con.execute("INSERT INTO reviews SELECT * FROM more")
    again = ingest.execute_in_process(partition_key="reviews", instance=instance)
    meta = ingest_metadata(again, "reviews__ingest")
    assert meta["rows"] == 130 and meta["changed"] is True and meta["source"] == "sql query on $SHOP_DB"
    stored = pd.read_parquet(root / "reviews" / "input.parquet")
    assert stored["id"].tolist() == [*range(120), *range(200, 210)]  # never renumbered: ls_index is the position
    assert stored.loc[5, "text"] == "an edited review about maps"
    assert stored[REMOVED_UPSTREAM].tolist() == [i == 7 for i in range(130)]
    assert recipe.execute_in_process(partition_key=key, instance=instance).success
    assert (root / "reviews" / "scopes" / "scopes-002.json").is_file()


def test_postgres_watermark_reads_only_new_rows_and_keeps_the_password_out(
    tmp_path: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, postgres: str
) -> None:
    root = tmp_path / "data"
    small_recipe(root)
    # The server trusts loopback, so any password connects; it must still reach no file, metadata or message.
    url = postgres.replace("dagster@", f"dagster:{PASSWORD}@")
    engine = sqlalchemy.create_engine(url)
    first = rows(sample_frame, 60).assign(updated=range(60))
    first.to_sql("tickets", engine, if_exists="replace", index=False)
    monkeypatch.setenv("TICKETS_DB", url)
    source = {"sql": "SELECT * FROM tickets", "url_env": "TICKETS_DB", "watermark": "updated"}
    defs = build(dataset="tickets", source=source, upsert_key="id", recipes=["small"], data_dir=str(root))
    instance = dg.DagsterInstance.ephemeral()
    ingest = defs.resolve_job_def("tickets__ingest_job")
    assert (
        ingest_metadata(ingest.execute_in_process(partition_key="tickets", instance=instance), "tickets__ingest")[
            "read_rows"
        ]
        == 60
    )
    rows(sample_frame, 5, start=100).assign(updated=range(100, 105)).to_sql(
        "tickets", engine, if_exists="append", index=False
    )
    engine.dispose()
    second = ingest.execute_in_process(partition_key="tickets", instance=instance)
    meta = ingest_metadata(second, "tickets__ingest")
    assert meta["read_rows"] == 5 and meta["rows"] == 65  # only rows past the stored watermark were read
    written = "".join(p.read_text(errors="ignore") for p in root.rglob("*") if p.suffix in (".json", ".yaml"))
    logs = json.dumps([str(e) for e in instance.all_logs(second.run_id)])
    assert PASSWORD not in written and PASSWORD not in logs and PASSWORD not in json.dumps(meta, default=str)


def test_a_failing_query_names_the_variable_not_the_url(postgres: str) -> None:
    url = postgres.replace("dagster@", f"dagster:{PASSWORD}@")
    with pytest.raises(UserError) as caught:
        sql.read_query(url, "TICKETS_DB", "SELECT * FROM no_such_table")
    assert "TICKETS_DB" in str(caught.value) and PASSWORD not in str(caught.value) and url not in str(caught.value)


def test_dg_lists_the_component() -> None:
    dg_cli = Path(sys.executable).parent / "dg"
    done = subprocess.run([str(dg_cli), "list", "components", "--json"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ls_pipeline.LatentScope" in {entry["key"] for entry in json.loads(done.stdout)["items"]}


def test_a_polled_source_gets_a_cron_condition_and_a_freshness_policy(tmp_path: Path) -> None:
    automation = {"cron": "*/5 * * * *", "freshness_hours": 2}
    defs = build(dataset="notes", source={"path": str(tmp_path / "*.csv")}, automation=automation)
    ingest = defs.resolve_asset_graph().get(dg.AssetKey(["notes", "ingest"]))
    assert "*/5 * * * *" in str(ingest.automation_condition)
    assert ingest.freshness_policy == dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2))
    # No automation: no conditions and no sensor, the assets still there to run by hand.
    manual = build(dataset="notes", source={"path": "x.csv"}, automation={"enabled": False})
    assert not list(manual.sensors or [])
    graph = manual.resolve_asset_graph()
    assert all(graph.get(key).automation_condition is None for key in graph.get_all_asset_keys())
