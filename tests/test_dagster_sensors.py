"""The inbox sensor, automation after an ingest, the re-ingest schedule and recipe registration, on a real
instance."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline.cli import ls_recipe
from ls_pipeline.definitions import defs
from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.defs.schedules import reingest_schedule
from ls_pipeline.defs.sensors import inbox_sensor
from ls_pipeline.sources.inbox import REJECTED


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A persistent instance in a temporary DAGSTER_HOME (schedule contexts refuse an in-memory one)."""
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as persistent:
        yield persistent


def drop(path: Path, frame: pd.DataFrame, age_s: float = 60) -> Path:
    """Write a file into the inbox as if copied in a minute ago (the sensor leaves files still being written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    settled = time.time() - age_s
    os.utime(path, (settled, settled))
    return path


def evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, root: Path, cursor: str | None = None):
    resources = {"data_dir": DataDirResource(path=str(root))}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as context:
        return sensor(context)


def added(result: dg.SensorResult, partitions: str) -> list[str]:
    return [
        key
        for r in result.dynamic_partitions_requests
        if r.partitions_def_name == partitions
        for key in r.partition_keys
    ]


def test_inbox_sensor_picks_up_a_dropped_file_once(
    instance: dg.DagsterInstance, data_dir: Path, sample_frame: pd.DataFrame
) -> None:
    drop(data_dir / "_inbox" / "debian news.csv", sample_frame.head(40))
    first = evaluate(inbox_sensor, instance, data_dir)
    [request] = first.run_requests
    assert request.partition_key == "debian-news"
    assert request.run_config == ingest_run_config(data_dir / "_inbox" / "debian news.csv")
    assert added(first, "datasets") == ["debian-news"]
    assert "default" in added(first, "recipes")
    again = evaluate(inbox_sensor, instance, data_dir, cursor=first.cursor)
    assert again.run_requests == [] and again.cursor == first.cursor


def test_inbox_sensor_sees_a_changed_file_and_leaves_one_still_being_written(
    instance: dg.DagsterInstance, data_dir: Path, sample_frame: pd.DataFrame
) -> None:
    path = drop(data_dir / "_inbox" / "news.csv", sample_frame.head(40))
    first = evaluate(inbox_sensor, instance, data_dir)
    drop(path, sample_frame.head(50), age_s=30)
    drop(data_dir / "_inbox" / "fresh.csv", sample_frame.head(10), age_s=0)
    second = evaluate(inbox_sensor, instance, data_dir, cursor=first.cursor)
    [request] = second.run_requests
    assert request.partition_key == "news" and request.run_key != first.run_requests[0].run_key


def test_inbox_sensor_moves_a_bad_file_aside_and_goes_on(
    instance: dg.DagsterInstance, data_dir: Path, sample_frame: pd.DataFrame
) -> None:
    inbox = data_dir / "_inbox"
    drop(inbox / "good.csv", sample_frame.head(20))
    bad = inbox / "numbers.csv"
    drop(bad, pd.DataFrame({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]}))
    (inbox / "notes.docx").write_bytes(b"PK\x03\x04 not a table")
    os.utime(inbox / "notes.docx", (time.time() - 60, time.time() - 60))
    result = evaluate(inbox_sensor, instance, data_dir)
    assert [r.partition_key for r in result.run_requests] == ["good"]
    rejected = inbox / REJECTED
    assert sorted(p.name for p in rejected.iterdir()) == [
        "notes.docx",
        "notes.docx.error.txt",
        "numbers.csv",
        "numbers.csv.error.txt",
    ]
    assert "no text column" in (rejected / "numbers.csv.error.txt").read_text()
    assert "unsupported file type '.docx'" in (rejected / "notes.docx.error.txt").read_text()
    assert not bad.exists()


def test_automation_runs_the_default_recipe_after_a_changing_ingest(
    instance: dg.DagsterInstance, data_dir: Path, sample_frame: pd.DataFrame
) -> None:
    """What replaced the ingested sensor: embedding's automation condition, the later stages following it."""
    source = drop(data_dir / "src.csv", sample_frame.head(30))
    instance.add_dynamic_partitions("datasets", ["src"])
    instance.add_dynamic_partitions("recipes", ["default", "other"])
    job = defs.resolve_job_def("ingest_job")
    stages = [dg.AssetKey(name) for name in ("embedding", "umap", "clusters", "labels", "scope")]
    with pytest.MonkeyPatch.context() as patch:  # the job's data_dir resource reads LATENT_SCOPE_DATA
        patch.setenv("LATENT_SCOPE_DATA", str(data_dir))
        before = dg.evaluate_automation_conditions(defs, instance)
        assert before.total_requested == 0
        assert job.execute_in_process(
            run_config=ingest_run_config(source), instance=instance, partition_key="src"
        ).success
        first = dg.evaluate_automation_conditions(defs, instance, cursor=before.cursor)
        # The default recipe only: "other" was never mapped for this dataset.
        default = dg.MultiPartitionKey({"dataset": "src", "recipe": "default"})
        for key in stages:
            assert first.get_requested_partitions(key) == {default}, key
        assert first.get_num_requested(dg.AssetKey("export")) == 0  # the curation sensor's, after each scope
        # The same rows again: the ingest changes nothing, so no recipe reruns.
        assert job.execute_in_process(
            run_config=ingest_run_config(source), instance=instance, partition_key="src"
        ).success
        second = dg.evaluate_automation_conditions(defs, instance, cursor=first.cursor)
        assert second.total_requested == 0


def test_schedule_reingests_the_configured_sources(instance: dg.DagsterInstance, data_dir: Path) -> None:
    def tick() -> list[dg.RunRequest] | dg.SkipReason:
        resources = {"data_dir": DataDirResource(path=str(data_dir))}
        with dg.build_schedule_context(instance=instance, resources=resources) as context:
            return reingest_schedule(context)

    assert isinstance(tick(), dg.SkipReason)
    sources = "news: feeds/news.csv\nposts: {path: /srv/posts.parquet, text_column: body}\n"
    (data_dir / "_sources.yaml").write_text(sources)
    requests = tick()
    assert [r.partition_key for r in requests] == ["news", "posts"]
    assert requests[0].run_config == ingest_run_config(data_dir / "feeds" / "news.csv")
    assert requests[1].run_config == ingest_run_config(Path("/srv/posts.parquet"), "body")
    assert set(instance.get_dynamic_partitions("datasets")) == {"news", "posts"}
    (data_dir / "_sources.yaml").write_text("news: [not, a, path]\n")
    skipped = tick()
    assert isinstance(skipped, dg.SkipReason) and "entry 'news' must be a path" in skipped.skip_message


def test_ls_recipe_add_registers_the_partition(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    recipe = tmp_path / "fine.yaml"
    recipe.write_text("cluster: {min_cluster_size: 5}\n")
    assert ls_recipe(["add", "fine", str(recipe)]) == 0
    assert (data_dir / "_recipes" / "fine.yaml").read_text() == recipe.read_text()
    with dg.DagsterInstance.get() as persistent:
        assert persistent.get_dynamic_partitions("recipes") == ["fine"]
    assert ls_recipe(["add", "fine", str(recipe)]) == 2
    recipe.write_text("cluster: {min_cluster_size: one}\n")
    assert ls_recipe(["add", "broken", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "min_cluster_size must be int, got 'one'" in err and "already registered" in err
    assert not (data_dir / "_recipes" / "broken.yaml").exists()


def test_ingest_launched_without_config_finds_its_source(
    instance: dg.DagsterInstance, data_dir: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As from the UI's Materialize button: the dataset's entry in _sources.yaml, else its file in _inbox/."""
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(data_dir))
    sample_frame.head(12).to_csv(data_dir / "listed.tsv", sep="\t", index=False)
    (data_dir / "_sources.yaml").write_text("listed: {path: listed.tsv, text_column: package}\n")
    drop(data_dir / "_inbox" / "dropped.csv", sample_frame.head(7))
    instance.add_dynamic_partitions("datasets", ["listed", "dropped", "nowhere"])
    job = defs.resolve_job_def("ingest_job")
    for name in ("listed", "dropped"):
        assert job.execute_in_process(instance=instance, partition_key=name).success
    assert '"text_column": "package"' in (data_dir / "listed" / "meta.json").read_text()
    assert '"length": 7' in (data_dir / "dropped" / "meta.json").read_text()
    failed = job.execute_in_process(instance=instance, partition_key="nowhere", raise_on_error=False)
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    assert "no source file for dataset 'nowhere'" in failure.step_failure_data.user_failure_data.description
    assert not (data_dir / "nowhere").exists()
