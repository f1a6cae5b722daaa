"""The recipe job's launchpad (typed run config from the params dataclasses) and sweeps, run for real by Dagster."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml
from dagster._core.definitions.reconstruct import ReconstructableRepository  # how a code location is loaded

from ls_pipeline import steps
from ls_pipeline.definitions import defs
from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, datasets, recipes
from ls_pipeline.defs.recipe_config import KEY, config_for_partition, run_config
from ls_pipeline.defs.sweep import grid_recipes
from ls_pipeline.errors import UserError
from ls_pipeline.params import help_of, hints
from ls_pipeline.recipe import SECTIONS, load_recipe, recipe_values
from ls_pipeline.runs import runner
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.store import DataDir
from tests.helpers import umap_layouts

BASE = """
description: the sweep's base
umap: {neighbors: 8, seed: 3}
cluster: {min_cluster_size: 6, min_samples: 2}
label: {levels: 0}
checks: {max_noise_share: 0.95, min_clusters: 1}
"""


def recipe_schema() -> Any:
    """The config type the launchpad shows under resources.recipe.config."""
    schema = defs.resolve_job_def("recipe_job").run_config_schema.config_type
    return schema.fields["resources"].config_type.fields[KEY].config_type.fields["config"].config_type


def test_the_launchpad_shows_every_parameter_of_every_stage() -> None:
    sections = recipe_schema().fields
    assert set(sections) == set(SECTIONS)
    for key, cls in SECTIONS.items():
        fields = sections[key].config_type.inner_type.fields  # a section is optional (Noneable)
        assert set(fields) == {f.name for f in dataclasses.fields(cls)}, key
        for f in dataclasses.fields(cls):
            assert help_of(f) in (fields[f.name].description or ""), (key, f.name)
            assert not fields[f.name].is_required
            hint = hints(cls)[f.name]
            if typing.get_origin(hint) is typing.Literal:  # allowed values, as a choice
                inner = fields[f.name].config_type.inner_type
                assert [v.config_value for v in inner.enum_values] == list(typing.get_args(hint))


@pytest.fixture
def few(data_dir: Path, tmp_path: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Dataset 'few' (150 rows) and recipe 'base' on a fresh data directory and Dagster instance."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    data = DataDir(data_dir)
    steps.ingest(data, "few", sample_frame.head(150), IngestParams(text_column="text"))
    (data_dir / "_recipes").mkdir()
    (data_dir / "_recipes" / "base.yaml").write_text(BASE)
    with runner.open_instance(data) as instance:
        add_missing(instance, datasets, ["few"])
        add_missing(instance, recipes, ["base"])
        yield data, instance


def test_a_partition_prefills_its_recipe_and_a_new_name_the_default(few: Any) -> None:
    data, _instance = few
    assert config_for_partition("few|base") == run_config(recipe_values(load_recipe("base", data)))
    assert config_for_partition("few|unsaved") == run_config(recipe_values(load_recipe("default")))
    assert load_recipe("base", data).umap.neighbors == 8 != load_recipe("default").umap.neighbors


def test_grid_names_and_limits() -> None:
    named = grid_recipes("g", {("umap", "neighbors"): [5, 10], ("umap", "min_dist"): [0.1, 0.5]})
    assert [name for name, _ in named] == [
        "g-neighbors5-min_dist0.1",
        "g-neighbors5-min_dist0.5",
        "g-neighbors10-min_dist0.1",
        "g-neighbors10-min_dist0.5",
    ]
    assert named[3][1] == {"umap": {"neighbors": 10, "min_dist": 0.5}}
    with pytest.raises(UserError, match="at least one list of values"):
        grid_recipes("g", {})
    with pytest.raises(UserError, match="a sweep of 81 recipes is more than 64"):
        grid_recipes("g", {("umap", "neighbors"): list(range(2, 11)), ("umap", "min_dist"): [0.1] * 9})


def latest(instance: dg.DagsterInstance, asset: str, partition: str) -> dg.AssetMaterialization:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization


def test_a_sweep_saves_its_recipes_as_one_backfill_that_shares_one_embedding(
    few: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, instance = few
    monkeypatch.setenv("LATENT_SCOPE_VIEWER_URL", "http://127.0.0.1:5001/")
    config = {"dataset": "few", "name": "grid", "base": "base", "umap_neighbors": [6, 10], "umap_min_dist": [0.0, 0.5]}
    # As the UI launches it: the job loaded from the code location, whose asset graph the op reads.
    location = ReconstructableRepository.for_module("ls_pipeline.definitions", "defs")
    sweep_job = location.get_reconstructable_job("sweep_job")
    with dg.execute_job(sweep_job, instance, run_config={"ops": {"sweep": {"config": config}}}) as swept:
        assert swept.success
        keys = swept.output_for_node("sweep")
    assert len(keys) == 4 and "few|grid-neighbors10-min_dist0.5" in keys
    backfills = instance.get_backfills()
    assert len(backfills) == 1 and backfills[0].title == "sweep grid of few"
    targeted = backfills[0].asset_backfill_data.target_subset
    assert {key.to_user_string() for key in targeted.asset_keys} == {"embedding", "umap", "clusters", "labels", "scope"}
    assert {str(k) for k in targeted.get_partitions_subset(dg.AssetKey("scope")).get_partition_keys()} == set(keys)
    saved = yaml.safe_load((data.root / "_recipes" / "grid-neighbors10-min_dist0.5.yaml").read_text())
    assert saved["umap"] == {**recipe_values(load_recipe("base", data))["umap"], "neighbors": 10, "min_dist": 0.5}
    # What the daemon's backfill does, one run per partition (no daemon here): each recipe's saved parameters.
    job = defs.resolve_job_def("recipe_job")
    for key in keys:
        runner.execute(job, instance, key)
    ds = data.dataset("few")
    assert len(list(ds.path.glob("embeddings/*.json"))) == 1
    assert len(umap_layouts(ds)) == 4 and len(list(ds.path.glob("umaps/*.json"))) == 8  # each clustering redrew one
    assert len(list(ds.path.glob("scopes/*.json"))) == 4
    # What a Dagster user compares across the grid, per materialization: the map, the shares, a link to the scope.
    clusters = latest(instance, "clusters", keys[-1]).metadata
    sidecar = json.loads((ds.path / "clusters" / f"{clusters['artifact_id'].value}.json").read_text())
    for name in ("n_clusters", "noise_share", "unclustered_share", "largest_share"):
        assert clusters[name].value == sidecar[name], name
    assert 0 < clusters["largest_share"].value <= 1
    assert clusters["thumbnail"].value.startswith(f"![{clusters['artifact_id'].value}](data:image/png;base64,")
    scope = latest(instance, "scope", keys[-1]).metadata
    assert scope["viewer"].value == f"http://127.0.0.1:5001/datasets/few/explore/{scope['artifact_id'].value}"
    # A name launched from the launchpad with other parameters than its saved recipe is refused; a new one is saved
    # and reuses the sweep's embedding and map.
    with pytest.raises(UserError, match="already exists with other parameters"):
        runner.execute(job, instance, keys[0], run_config({"umap": {"neighbors": 7}}))
    add_missing(instance, recipes, ["tuned"])
    base = recipe_values(load_recipe("base", data))
    given = {**base, "umap": {**base["umap"], "neighbors": 6, "min_dist": 0.0}}
    runner.execute(
        job, instance, dataset_recipe_key("few", "tuned"), run_config({**given, "cluster": {"min_samples": 3}})
    )
    assert load_recipe("tuned", data).cluster.min_samples == 3
    assert len(umap_layouts(ds)) == 4 and len(list(ds.path.glob("scopes/*.json"))) == 5
