"""The assets, materialized for real by Dagster in a temporary DAGSTER_HOME on 300 real rows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.cli import ls_run
from ls_pipeline.definitions import defs
from ls_pipeline.defs import sensors
from ls_pipeline.defs.export import curation_sensor
from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, recipes
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import load_recipe
from ls_pipeline.runs import reuse, runner
from ls_pipeline.steps import curate
from ls_pipeline.store import DataDir, tags
from tests.conftest import SMALL_RECIPE
from tests.helpers import umap_layouts

STAGES = ["embedding", "umap", "clusters", "labels", "scope"]
COARSE = SMALL_RECIPE.replace("min_cluster_size: 8", "min_cluster_size: 20")  # differs only in clustering
STRICT = SMALL_RECIPE.replace("min_clusters: 2", "min_clusters: 250")  # cannot pass on 300 rows
WARNED = SMALL_RECIPE.replace("max_clusters: 200", "max_clusters: 200, warn_largest_share: 0.01")  # only warns


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """A data directory and a Dagster home; dataset 'sample' ingested and run with recipe 'small' by ls-run."""
    base = tmp_path_factory.mktemp("dagster")
    root, home, source = base / "data", base / "home", base / "sample.parquet"
    (root / "_recipes").mkdir(parents=True)
    for name, text in (("small", SMALL_RECIPE), ("coarse", COARSE), ("strict", STRICT), ("warned", WARNED)):
        (root / "_recipes" / f"{name}.yaml").write_text(text)
    sample_frame.to_parquet(source, index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv("LATENT_SCOPE_DATA", str(root))
        data = DataDir(root)
        ids = runner.run_in_dagster(data, "sample", "small", source=source, text_column="text")
        with runner.open_instance(data) as instance:
            yield {"data": data, "ids": ids, "instance": instance, "home": home, "source": source}


def latest(instance: dg.DagsterInstance, asset: str, partition: str) -> dg.AssetMaterialization | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization if records else None


def files(data: DataDir, pattern: str) -> list[str]:
    return sorted(str(p.relative_to(data.root)) for p in (data.root / "sample").glob(pattern))


def artifact_files(data: DataDir) -> list[str]:
    return sorted(
        str(p.relative_to(data.root)) for p in (data.root / "sample").rglob("*") if p.is_file() and "lock" not in p.name
    )


def test_materialization_writes_the_files_the_cli_writes(dag: dict[str, Any]) -> None:
    data = dag["data"]
    assert dag["ids"] == {
        "embedding": "embedding-001",
        "umap": "umap-001",
        "cluster": "cluster-001",
        "labels": "cluster-001-labels-001",
        "scope": "scopes-001",
    }
    written = artifact_files(data)
    # The CLI path (steps, no Dagster) on the same data directory finds every artifact already made:
    # same fingerprints, same ids, not one file more.
    cli = steps.run_recipe(data.dataset("sample"), load_recipe("small", data))
    assert all(artifact.reused for artifact in cli.values())
    assert {kind: artifact.id for kind, artifact in cli.items()} == dag["ids"]
    assert artifact_files(data) == written
    assert "sample/scopes/scopes-001.parquet" in written and "sample/umaps/umap-001.png" in written


def test_metadata_carries_parameters_lineage_and_data_version(dag: dict[str, Any]) -> None:
    data, instance = dag["data"], dag["instance"]
    partition = str(dataset_recipe_key("sample", "small"))
    ds = data.dataset("sample")
    ingest = latest(instance, "ingest", "sample")
    assert ingest.metadata["rows"].value == 300 and ingest.metadata["changed"].value is True
    assert ingest.tags["dagster/data_version"] == ds.meta()["fingerprint"]
    for asset, kind in zip(STAGES, ["embedding", "umap", "cluster", "labels", "scope"], strict=True):
        event = latest(instance, asset, partition)
        artifact_id = event.metadata["artifact_id"].value
        sidecar = ds.sidecar(kind, artifact_id)
        assert event.tags["dagster/data_version"] == sidecar["fingerprint"] == event.metadata["fingerprint"].value
        assert event.metadata["cache_hit"].value is False
        assert event.metadata["wall_time_s"].value > 0
        assert all(Path(p).is_file() for p in event.metadata["files"].value)
    clusters = latest(instance, "clusters", partition).metadata
    assert clusters["param_min_cluster_size"].value == 8 and clusters["param_min_samples"].value == 3
    assert clusters["n_clusters"].value >= 2 and 0 <= clusters["noise_share"].value <= 1
    assert clusters["thumbnail"].value.startswith("![cluster-001](data:image/png;base64,")
    umap = latest(instance, "umap", partition).metadata
    assert umap["param_neighbors"].value == 10 and umap["inputs"].value == {
        "embedding-001": ds.sidecar("embedding", "embedding-001")["fingerprint"]
    }


def test_recipe_differing_in_clustering_reuses_embedding_and_umap(dag: dict[str, Any]) -> None:
    data, instance = dag["data"], dag["instance"]
    before = {kind: len(files(data, f"{kind}/*.json")) for kind in ("embeddings", "umaps", "clusters", "scopes")}
    ids = runner.run_in_dagster(data, "sample", "coarse")
    partition = str(dataset_recipe_key("sample", "coarse"))
    hits = {asset: latest(instance, asset, partition).metadata["cache_hit"].value for asset in STAGES}
    assert hits == {"embedding": True, "umap": True, "clusters": False, "labels": False, "scope": False}
    assert ids["embedding"] == "embedding-001" and ids["umap"] == "umap-001"
    assert files(data, "embeddings/*.h5") == ["sample/embeddings/embedding-001.h5"]
    assert umap_layouts(data.dataset("sample")) == ["umap-001"]  # besides the maps each clustering redrew
    after = {kind: len(files(data, f"{kind}/*.json")) for kind in before}
    # A new clustering brings its own labels sidecar (clusters/ holds both), the map it redrew, and a new scope.
    assert after == {
        **before,
        "umaps": before["umaps"] + 1,
        "clusters": before["clusters"] + 2,
        "scopes": before["scopes"] + 1,
    }
    assert latest(instance, "clusters", partition).metadata["param_min_cluster_size"].value == 20


def test_cluster_shape_warns_with_its_figures_and_labeling_goes_on(dag: dict[str, Any]) -> None:
    data, instance = dag["data"], dag["instance"]
    add_missing(instance, recipes, ["warned"])
    partition = dataset_recipe_key("sample", "warned")
    result = defs.resolve_job_def("recipe_job").execute_in_process(instance=instance, partition_key=partition)
    assert result.success
    shape = {e.check_name: e for e in result.get_asset_check_evaluations()}["cluster_shape"]
    assert not shape.passed and shape.severity == dg.AssetCheckSeverity.WARN
    cluster_id = shape.metadata["cluster_id"].value
    sidecar = data.dataset("sample").sidecar("cluster", cluster_id)
    assert shape.metadata["largest_share"].value == sidecar["largest_share"] > 0.01
    assert shape.metadata["warn_largest_share"].value == 0.01 and "largest cluster holds" in shape.description
    assert latest(instance, "scope", str(partition)) is not None


def test_failed_cluster_check_blocks_labeling(dag: dict[str, Any]) -> None:
    data, instance = dag["data"], dag["instance"]
    labels_before = files(data, "clusters/*-labels-0*.json")
    add_missing(instance, recipes, ["strict"])
    job = defs.resolve_job_def("recipe_job")
    result = job.execute_in_process(
        instance=instance, partition_key=dataset_recipe_key("sample", "strict"), raise_on_error=False
    )
    assert not result.success
    evaluation = {e.check_name: e for e in result.get_asset_check_evaluations()}["cluster_limits"]
    assert not evaluation.passed
    assert "below min_clusters 250" in evaluation.description
    materialized = {
        e.step_materialization_data.materialization.asset_key.path[-1]
        for e in result.get_asset_materialization_events()
    }
    assert materialized == {"embedding", "umap", "clusters"}
    assert latest(instance, "labels", str(dataset_recipe_key("sample", "strict"))) is None
    assert files(data, "clusters/*-labels-0*.json") == labels_before
    # What the UI's run view shows first: the run's first error event is the clusters step's failure, carrying the
    # figures and the way out (the line ls-run prints), not Dagster's "1 blocking asset check failed".
    first_error = next(e for e in instance.all_logs(result.run_id) if e.level >= logging.ERROR)
    failure = first_error.dagster_event
    assert failure is not None and failure.is_step_failure and failure.step_key == "clusters"
    line = runner.failure_message(result)
    assert line.startswith("clusters check cluster_limits failed:") and "below min_clusters 250" in line
    assert line.endswith("change the recipe's cluster parameters or its checks")
    assert failure.step_failure_data.user_failure_data.description == line
    assert line in failure.step_failure_data.error.message and "blocking asset check" not in line
    # ... and the note the failure sensor leaves beside an inbox file says the same.
    run_failure = next(e for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE))
    context = dg.build_run_status_sensor_context(
        "failure_notes", run_failure.dagster_event, instance, instance.get_run_by_id(result.run_id)
    )
    assert sensors.failure_reason(context) == line


def test_ls_run_reports_a_failed_check_in_one_line(dag: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(dag["home"]))
        patch.setenv("LATENT_SCOPE_DATA", str(dag["data"].root))
        assert ls_run(["sample", "--recipe", "strict"]) == 2
        assert ls_run(["sample", "--recipe", "no-such-recipe"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ls-run: error:")]
    assert len(errors) == 2
    assert "cluster_limits failed" in errors[0] and "min_clusters 250" in errors[0]
    assert "unknown recipe 'no-such-recipe'" in errors[1]


def test_ls_run_with_nothing_to_do_starts_no_run(dag: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """Every stage done and recorded by the instance's last run of the partition: `ls-run` prints the same ids and
    starts no run. Without that record (artifacts made without Dagster) it runs, and records them."""
    data, instance, record = dag["data"], dag["instance"], dag["home"] / reuse.RECORD
    expected = [f"{kind}: {artifact_id}" for kind, artifact_id in dag["ids"].items()]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(dag["home"]))
        patch.setenv("LATENT_SCOPE_DATA", str(data.root))
        capsys.readouterr()
        runs = len(instance.get_runs())
        assert ls_run(["sample", "--recipe", "small"]) == 0
        assert capsys.readouterr().out.splitlines() == expected
        assert len(instance.get_runs()) == runs
        kept = record.read_text()
        record.unlink()
        assert ls_run(["sample", "--recipe", "small"]) == 0
        assert capsys.readouterr().out.splitlines() == expected
        assert len(instance.get_runs()) == runs + 1
        assert reuse.recorded_ids(data, "sample", "small") == dag["ids"]
        reuse.record(data, "sample", "small", {**dag["ids"], "scope": "scopes-009"})  # not what the files hold
        assert reuse.recorded_ids(data, "sample", "small") is None
        record.write_text(kept)  # the other partitions' records, for the tests after this one


def test_reingesting_the_same_rows_changes_nothing(dag: dict[str, Any]) -> None:
    data, instance = dag["data"], dag["instance"]
    meta_before = data.dataset("sample").meta()
    job = defs.resolve_job_def("ingest_job")
    config = {"ops": {"ingest": {"config": {"path": str(dag["source"]), "text_column": "text"}}}}
    before = latest(instance, "ingest", "sample")
    result = job.execute_in_process(run_config=config, instance=instance, partition_key="sample")
    assert result.success
    # No new materialization: the recipe stages' automation conditions fire on one, so nothing reruns.
    assert result.get_asset_materialization_events() == []
    assert latest(instance, "ingest", "sample") == before
    assert data.dataset("sample").meta() == meta_before


def test_ls_run_without_a_source_names_the_fix(dag: dict[str, Any]) -> None:
    with pytest.raises(UserError, match="unknown dataset 'absent'"):
        runner.run_in_dagster(dag["data"], "absent", "small")


def test_export_goes_stale_after_a_tag_or_scope_edit_and_rematerialises(dag: dict[str, Any]) -> None:
    """The curation sensor asks for an export of every scope not yet exported, and again after a tag edit or a
    scope edit (a new version); each export holds the input, scope, tag_<name> and deleted columns as they are."""
    data, instance = dag["data"], dag["instance"]
    ds, key = data.dataset("sample"), str(dataset_recipe_key("sample", "small"))
    resource = DataDirResource(path=str(data.root))

    def stale() -> list[str]:
        result = curation_sensor(dg.build_sensor_context(instance=instance, resources={"data_dir": resource}))
        return [r.partition_key for r in result.run_requests or [] if r.partition_key == key]

    def materialize() -> pd.DataFrame:
        job = defs.resolve_job_def("export_job")
        assert job.execute_in_process(instance=instance, partition_key=key).success
        scope_id = latest(instance, "export", key).metadata["scope_id"].value
        return pd.read_parquet(data.root / "sample" / "scopes" / f"{scope_id}-export.parquet")

    assert stale() == [key]  # never exported
    first = materialize()
    assert stale() == []
    inputs = pd.read_parquet(ds.input_path)
    assert list(first.columns[: len(inputs.columns)]) == list(inputs.columns) and len(first) == len(inputs)
    assert {"x", "y", "cluster", "label", "ls_index", "deleted"} <= set(first.columns)

    tags.create(ds, "keep")
    tags.change(ds, "keep", add=[4, 8])
    assert stale() == [key]
    tagged = materialize()
    assert tagged.index[tagged["tag_keep"]].tolist() == [4, 8] and stale() == []

    version = curate.edit(ds, "scopes-001", {"op": "remove", "rows": [0, 8]}, 100)
    assert stale() == [key]
    curated = materialize()
    assert latest(instance, "export", key).metadata["scope_id"].value == version.scope.id
    assert curated.index[curated["deleted"]].tolist() == [0, 8] and curated["tag_keep"].sum() == 2
    assert (data.root / "sample" / "scopes" / "scopes-001-export.parquet").is_file()  # the earlier export stays
    assert stale() == []
