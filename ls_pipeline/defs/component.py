"""The LatentScope component: the stage assets (ingest to export) of one dataset, in any `dg` project.

    dg scaffold defs ls_pipeline.LatentScope tickets_map

writes `defs/tickets_map/defs.yaml`; its attributes say where the rows live and how to map them. Without a dataset
the component is the project's own code location: every dataset of the data directory, as the inbox, _sources.yaml
and ls-run fill it (ls_pipeline/defs/latent_scope/defs.yaml).
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field, model_validator

from ls_pipeline.defs import automation
from ls_pipeline.defs.assets import recipe_stage_assets
from ls_pipeline.defs.exclusions_source import exclusions_source_asset
from ls_pipeline.defs.export import export_asset
from ls_pipeline.defs.ingest import IngestSpec, ingest_asset
from ls_pipeline.defs.layout import EXPORT, INGEST, RECIPE_STAGES, Layout, for_dataset
from ls_pipeline.defs.recipe_config import partitioned_config
from ls_pipeline.defs.recipe_source import recipe_source_asset
from ls_pipeline.defs.resources import resources
from ls_pipeline.defs.sensors import run_tags
from ls_pipeline.recipe import DEFAULT
from ls_pipeline.sources.configured import ConfiguredSource
from ls_pipeline.store.datadir import check_name


class SourceModel(dg.Model):
    """Exactly one of `asset`, `sql` or `path`."""

    asset: str = Field("", description="An upstream asset of this project (key as a/b) giving a DataFrame, an "
                       "Arrow table or a file path")  # fmt: skip
    sql: str = Field("", description="A query run on the database whose URL is in `url_env`")
    url_env: str = Field("", description="The environment variable holding the database URL (postgresql://... "
                         "or duckdb:///path.db); the URL itself never goes in this file")  # fmt: skip
    watermark: str = Field("", description="sql only: read only rows past the highest value stored in this column")
    path: str = Field("", description="A file, a glob of files, or a URL (local or s3://)")

    @model_validator(mode="after")
    def _one_kind(self) -> SourceModel:
        given = [kind for kind in ("asset", "sql", "path") if getattr(self, kind)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of asset, sql or path as the source (got {', '.join(given) or 'none'})")
        if self.sql and not self.url_env:
            raise ValueError("a sql source needs url_env: the environment variable holding the database URL")
        if "://" in self.url_env:
            raise ValueError("url_env names an environment variable, not the URL itself (keep passwords out of YAML)")
        return self

    def configured(self) -> ConfiguredSource:
        if self.asset:
            return ConfiguredSource("asset", self.asset)
        if self.sql:
            return ConfiguredSource("sql", self.sql, self.url_env, self.watermark)
        return ConfiguredSource("path", self.path)


class AutomationModel(dg.Model):
    enabled: bool = Field(True, description="Run the stages by declarative automation as new rows arrive")
    cron: str = Field("0 * * * *", description="When a sql or path source is polled for new rows")
    freshness_hours: float = Field(0, description="A polled source older than this fails its freshness (0: none)")


class LatentScopeScaffolder(dg.Scaffolder):
    """`dg scaffold defs ls_pipeline.LatentScope NAME`: a defs.yaml for dataset NAME with a source to fill in."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        name = request.target_path.name
        attributes = {
            "dataset": name,
            "source": {"path": f"{name}.csv"},  # or asset: AN_ASSET, or sql: QUERY with url_env: A_VARIABLE
            "text_column": "text",
            "recipes": [DEFAULT],
            "automation": {"enabled": True},
        }
        dg.scaffold_component(request, attributes)


@dg.scaffold_with(LatentScopeScaffolder)
class LatentScope(dg.Component, dg.Model, dg.Resolvable):
    """Latent Scope's stage assets for one dataset: ingest, embedding, umap, clusters, labels, scope, export."""

    dataset: str = Field("", description="The dataset's name; empty: every dataset of the data directory")
    key_prefix: str = Field("", description="Asset key prefix (a/b); empty: the dataset's name")
    source: SourceModel | None = Field(None, description="Where the rows live (needed with a dataset)")
    text_column: str = Field("", description="The column to embed; empty: guessed ('text' if present)")
    upsert_key: str = Field("", description="Rows with a known key are updated in place; gone ones are flagged")
    recipes: list[str] = Field([DEFAULT], description="The recipes to map the dataset with")
    data_dir: str = Field("", description="The data directory; empty: $LATENT_SCOPE_DATA where the step runs")
    automation: AutomationModel = Field(AutomationModel(), description="Declarative automation and freshness")  # type: ignore[call-arg]

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        if not self.dataset:
            return project_defs(self.automation.enabled)
        check_name(self.dataset)
        for recipe in self.recipes:
            check_name(recipe, "recipe name")
        if self.recipes == [self.dataset]:
            # Both dimensions would hold the same one key: Dagster then cannot tell which one ingest maps to.
            raise ValueError(f"name the recipe differently from the dataset {self.dataset!r}")
        if self.source is None:
            raise ValueError(f"dataset {self.dataset!r} needs a source: asset, sql or path")
        layout = for_dataset(self.key_prefix or self.dataset, self.dataset, self.recipes, self.data_dir)
        source = self.source.configured()
        spec = IngestSpec(source, self.text_column, self.upsert_key)
        return dataset_defs(layout, spec, self.automation)


def project_defs(automate: bool) -> dg.Definitions:
    """The project's own code location: dynamic partitions, sources found in the data directory."""
    layout = Layout()
    conditions = automation.stage_conditions(layout, every_recipe=False) if automate else {}
    conditions.pop(EXPORT, None)  # the curation sensor exports after each new scope and each edit
    stages = recipe_stage_assets(layout, conditions)
    # LATENT_SCOPE_JOB_TIMEOUT_SEC bounds the runs automation starts, as it bounds the inbox sensor's, read at load.
    sensors = [automation.automation_sensor(layout, custom=True, run_tags=run_tags())] if automate else []
    return _defs(layout, ingest_asset(layout, IngestSpec()), stages, export_asset(layout), sensors)


def dataset_defs(layout: Layout, spec: IngestSpec, settings: AutomationModel) -> dg.Definitions:
    assert spec.source is not None
    automate = settings.enabled
    from_asset = spec.source.kind == "asset"
    conditions = automation.stage_conditions(layout, every_recipe=True) if automate else {}
    ingest_if = automation.ingest_condition(from_asset, settings.cron) if automate else None
    policy = automation.freshness("" if from_asset else settings.cron, settings.freshness_hours)
    ingest = ingest_asset(layout, spec, ingest_if, policy)
    stages = recipe_stage_assets(layout, conditions)
    sensors = [automation.automation_sensor(layout, custom=False)] if automate else []
    return _defs(layout, ingest, stages, export_asset(layout, conditions.get(EXPORT)), sensors)


def _defs(
    layout: Layout,
    ingest: dg.AssetsDefinition,
    stages: list[dg.AssetsDefinition],
    export: dg.AssetsDefinition,
    sensors: list[dg.SensorDefinition],
) -> dg.Definitions:
    keys = [layout.key(name) for name in RECIPE_STAGES]
    config = partitioned_config(layout.dataset_recipe)
    jobs = [
        dg.define_asset_job(layout.name("ingest_job"), selection=[layout.key(INGEST)]),
        dg.define_asset_job(layout.name("recipe_job"), selection=keys, config=config),
        dg.define_asset_job(layout.name("export_job"), selection=[layout.key(EXPORT)]),
    ]
    return dg.Definitions(
        assets=[recipe_source_asset(layout), exclusions_source_asset(layout), ingest, *stages, export],
        jobs=jobs,
        sensors=sensors,
        resources=resources(),
    )
