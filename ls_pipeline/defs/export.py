"""The curated export per dataset x recipe, and the sensor that keeps it fresh.

Staleness is a sensor's, not an observable source asset's: what the export depends on (tags/*.indices and the
scope's line of edited versions) changes outside Dagster, per dataset x recipe, and a sensor both sees the change
and requests the rematerialisation (one run per new curation state, deduplicated by run_key), with no observation
schedule to keep in step. "Stale" is therefore exact: the curation fingerprint now differs from the one the latest
export materialization recorded (export_status below), and a team's own jobs can depend on the export asset.
"""

# No `from __future__ import annotations`: Dagster reads config and resource types from live annotations.

import time

import dagster as dg

from ls_pipeline.defs.assets import upstream_id, user_errors
from ls_pipeline.defs.layout import EXPORT as EXPORT_ASSET
from ls_pipeline.defs.layout import Layout
from ls_pipeline.defs.partitions import dataset_recipe_key, datasets, recipes, split_key
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.defs.sensors import run_tags
from ls_pipeline.errors import UserError
from ls_pipeline.stages import export as export_stage
from ls_pipeline.steps import export as export_step
from ls_pipeline.store.layout import EXPORT, SCOPE

CURATION = "curation"  # the metadata key holding the curation fingerprint an export was made from
INTERVAL_S = 30


def export_asset(layout: Layout, condition: dg.AutomationCondition | None = None) -> dg.AssetsDefinition:
    """The export asset of `layout`, identity-mapped to its scope."""

    @dg.asset(
        key=layout.key(EXPORT_ASSET),
        partitions_def=layout.dataset_recipe,
        deps=[dg.AssetDep(layout.key("scope"), partition_mapping=dg.IdentityPartitionMapping())],
        code_version=export_stage.CODE_VERSION,
        group_name=layout.group,
        kinds={"parquet"},
        required_resource_keys=layout.resource_keys(),
        automation_condition=condition,
    )
    def export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """The recipe's scope as curated (its newest edited version, every tag a tag_<name> column, removed rows
        flagged): scopes-NNN-export.parquet, for downstream work on curated data."""
        started = time.perf_counter()
        with user_errors():
            ds = layout.data(context).dataset(split_key(context.partition_key)[0])
            made = export_step.export(ds, upstream_id(context, layout.key("scope")))
        metadata = {
            CURATION: made.curation,
            "scope_id": made.scope_id,
            "rows": made.record["rows"],
            "removed": made.record["removed"],
            "tags": dg.MetadataValue.json(made.record["tags"]),
            "path": dg.MetadataValue.path(str(ds.file(SCOPE, made.scope_id, EXPORT))),
            "wall_time_s": round(time.perf_counter() - started, 3),
        }
        return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(made.curation))

    return export


def export_status(instance: dg.DagsterInstance, data_dir: DataDirResource) -> dict[str, tuple[str, str | None]]:
    """Per dataset x recipe with a scope: (the curation fingerprint now, the one its latest export recorded)."""
    data, out = data_dir.data(), {}
    for dataset in instance.get_dynamic_partitions(datasets.name):
        for recipe in instance.get_dynamic_partitions(recipes.name):
            key = str(dataset_recipe_key(dataset, recipe))
            scope = _latest(instance, "scope", key)
            if scope is None:
                continue
            try:
                _, now = export_step.curation(data.dataset(dataset), str(scope.metadata["artifact_id"].value))
            except UserError:  # the scope was deleted by hand: nothing to export
                continue
            made = _latest(instance, "export", key)
            out[key] = (now, str(made.metadata[CURATION].value) if made and CURATION in made.metadata else None)
    return out


# A sensor, not an automation condition: tags and scope edits are files the viewer writes outside Dagster.
@dg.sensor(job_name="export_job", minimum_interval_seconds=INTERVAL_S, default_status=dg.DefaultSensorStatus.RUNNING)
def curation_sensor(context: dg.SensorEvaluationContext, data_dir: DataDirResource) -> dg.SensorResult:
    """A tag edit, a scope edit or a new scope makes that dataset x recipe's export stale: rematerialise it."""
    requests = [
        dg.RunRequest(partition_key=key, run_key=f"{key}:{now}", tags=run_tags())
        for key, (now, made) in sorted(export_status(context.instance, data_dir).items())
        if now != made
    ]
    return dg.SensorResult(run_requests=requests)


def _latest(instance: dg.DagsterInstance, asset: str, key: str) -> dg.AssetMaterialization | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
    ).records
    return records[0].asset_materialization if records else None
