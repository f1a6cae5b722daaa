"""The ingest asset of a layout: input.parquet + meta.json of a dataset, from where its rows live.

Without a configured source (the project's own code location) a dataset's rows come from the run config's path, its
entry in _sources.yaml or its file in _inbox/. A component's source is an upstream asset of the team's project, a
SQL query or a file, glob or URL; with an upsert key, rows merge into the stored ones by that key.
"""

# No `from __future__ import annotations`: Dagster reads config and resource types from live annotations.

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from ls_pipeline import steps
from ls_pipeline.defs.assets import IngestConfig, user_errors
from ls_pipeline.defs.layout import INGEST, Layout
from ls_pipeline.sources.configured import ConfiguredSource, frame_of, read_path_source, read_query_source
from ls_pipeline.sources.registry import Source, find_source, read_rows
from ls_pipeline.stages import ingest as ingest_stage
from ls_pipeline.store.datadir import DataDir
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.location import as_path

UPSTREAM = "upstream"  # the ingest op's input holding an upstream asset's value


@dataclass(frozen=True)
class IngestSpec:
    """How a component's rows become its dataset."""

    source: ConfiguredSource | None = None
    text_column: str = ""
    upsert_key: str = ""
    mark_removed: bool = True  # rows whose key is gone upstream are flagged, never dropped or renumbered


def _read(data: DataDir, name: str, spec: IngestSpec, value: Any) -> tuple[pd.DataFrame, str]:
    """The component source's rows and how metadata names the source."""
    source = spec.source
    assert source is not None
    if source.kind == "asset":
        return frame_of(value), source.describe()
    if source.kind == "sql":
        ds = data.dataset(name, must_exist=False)
        stored = read_stored_table(ds.input_path) if source.watermark and ds.input_path.is_file() else None
        return read_query_source(source, stored), source.describe()
    return read_path_source(source), source.describe()


def ingest_asset(
    layout: Layout,
    spec: IngestSpec,
    condition: dg.AutomationCondition | None = None,
    freshness: dg.FreshnessPolicy | None = None,
) -> Any:
    """The ingest asset of `layout`, partitioned by dataset; with an asset source, that asset is its input."""
    source = spec.source
    from_asset = source is not None and source.kind == "asset"
    decorator = dg.asset(
        key=layout.key(INGEST),
        ins={UPSTREAM: dg.AssetIn(dg.AssetKey.from_user_string(source.target))} if from_asset else None,
        partitions_def=layout.datasets,
        code_version=ingest_stage.CODE_VERSION,
        group_name=layout.group,
        kinds={"parquet"},
        required_resource_keys=layout.resource_keys(),
        automation_condition=condition,
        freshness_policy=freshness,
        output_required=False,  # the same rows as Dagster already has: no new materialization, so nothing reruns
        description="input.parquet + meta.json of a dataset, from " + (source.describe() if source else "its file"),
    )
    if from_asset:

        @decorator
        def ingest_from_asset(
            context: dg.AssetExecutionContext, config: IngestConfig, upstream: Any
        ) -> Iterator[dg.MaterializeResult]:
            yield from materialize(context, layout, spec, config, upstream)

        return ingest_from_asset

    @decorator
    def ingest(context: dg.AssetExecutionContext, config: IngestConfig) -> Iterator[dg.MaterializeResult]:
        yield from materialize(context, layout, spec, config, None)

    return ingest


def known_fingerprint(context: dg.AssetExecutionContext) -> str | None:
    """The rows' fingerprint of this partition's latest materialization, as the instance recorded it."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[context.partition_key]), limit=1
    ).records
    found = records[0].asset_materialization.metadata.get("fingerprint") if records else None
    return None if found is None else str(found.value)


def materialize(
    context: dg.AssetExecutionContext, layout: Layout, spec: IngestSpec, config: IngestConfig, value: Any
) -> Iterator[dg.MaterializeResult]:
    started, data, name, source = time.perf_counter(), layout.data(context), context.partition_key, spec.source
    before = data.dataset(name).meta().get("fingerprint") if name in data.dataset_names() else None
    with user_errors():
        if source is None:
            given = Source(name, as_path(config.path), config.text_column or None) if config.path else None
            found = given or find_source(data, name)
            rows = read_rows(found.path, found.text_column)
            frame, text_column, key, shown = rows.frame, rows.text_column, rows.upsert_key, found.path.name
            gone = False
        else:
            frame, shown = _read(data, name, spec, value)
            text_column, key = spec.text_column or None, spec.upsert_key or None
            # a watermark reads new rows only: the absence of an old row says nothing about it
            gone = spec.mark_removed and bool(key) and not source.watermark
        params = ingest_stage.IngestParams(text_column=text_column)
        meta = steps.ingest(data, name, frame, params, source=shown, upsert_key=key, mark_removed=gone)
    if known_fingerprint(context) == meta["fingerprint"]:
        # The automation conditions downstream fire on a new materialization: an unchanged ingest makes none.
        context.log.info(f"dataset {name!r}: the same {meta['length']} rows as its last materialization; nothing new")
        return
    metadata = {
        "dataset": name,
        "source": dg.MetadataValue.path(str(found.path)) if source is None else shown,
        "rows": meta["length"],
        "read_rows": len(frame),
        "text_column": meta["text_column"],
        "columns": dg.MetadataValue.json(meta["columns"]),
        "empty_texts": meta["empty_texts"],
        "fingerprint": meta["fingerprint"],
        "changed": before != meta["fingerprint"],
        "path": dg.MetadataValue.path(str(data.dataset(name).input_path)),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    yield dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(meta["fingerprint"]))
