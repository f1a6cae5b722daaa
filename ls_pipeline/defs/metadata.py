"""MaterializeResult metadata from an artifact's sidecar: parameters, inputs, files, counts, timings, thumbnail."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dagster as dg

from ls_pipeline import settings
from ls_pipeline.models.prices import estimated_cost, price_table
from ls_pipeline.stages import changes as changes_stage
from ls_pipeline.store.artifacts import Artifact
from ls_pipeline.store.datadir import DataDir, Dataset
from ls_pipeline.store.layout import SIDECAR, THUMBNAIL
from ls_pipeline.store.sidecars import Sidecar

# The UI renders a Markdown image inline only from a data URI; past this size only the path is shown.
THUMBNAIL_LIMIT = 400_000
ARTIFACT_ID = "artifact_id"
VIEWER_ENV = "LATENT_SCOPE_VIEWER_URL"  # where users open the viewer, e.g. http://127.0.0.1:5001
# The counts a Dagster user compares across recipes (a cluster's noise and largest-cluster shares among them).
_COUNTS = (
    "rows", "n_clusters", "noise_share", "unclustered_share", "largest_share", "map_coherence", "n_labels",
    "dimensions", "redrawn_from",
)  # fmt: skip


def artifact_files(ds: Dataset, artifact: Artifact) -> list[Path]:
    return ds.artifact_files(artifact.kind, artifact.id)


def artifact_result(
    ds: Dataset,
    artifact: Artifact,
    started: float,
    check_results: Sequence[dg.AssetCheckResult] = (),
    **extra: Any,
) -> dg.MaterializeResult:
    """The result of an asset that produced (or reused) one artifact; data_version is its fingerprint."""
    sidecar: Sidecar = artifact.sidecar
    metadata: dict[str, Any] = {
        ARTIFACT_ID: artifact.id,
        "fingerprint": sidecar.fingerprint,
        "cache_hit": artifact.reused,
        "dataset": ds.name,
        **{f"param_{k}": _plain(v) for k, v in sidecar.params.items()},
        "inputs": dg.MetadataValue.json(dict(sidecar.inputs)),
        "files": dg.MetadataValue.json([str(p) for p in artifact_files(ds, artifact)]),
        "path": dg.MetadataValue.path(str(ds.file(artifact.kind, artifact.id, SIDECAR))),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "compute_time_s": sidecar.wall_time_s,
        "created_at": sidecar.created_at,
        **{k: sidecar.raw[k] for k in _COUNTS if k in sidecar and sidecar.raw[k] is not None},
        **thumbnail(ds.file(artifact.kind, artifact.id, THUMBNAIL)),
        **usage_metadata(ds, sidecar),
        **extra,
    }
    return dg.MaterializeResult(
        metadata=metadata, data_version=dg.DataVersion(sidecar.fingerprint), check_results=list(check_results)
    )


def usage_metadata(ds: Dataset, sidecar: Sidecar) -> dict[str, Any]:
    """An API step's calls, as dagster-openai reports them: requests, retries, tokens, and an estimated cost from the
    price table (models/prices.json, overridden by the data directory's _prices.yaml). Empty for a local model."""
    raw = sidecar.raw
    if isinstance(raw.get("api_usage"), dict):  # an API embedding
        used, model = raw["api_usage"], str(raw.get("model_id"))
        found = {"input_tokens": int(used.get("tokens", 0)), "output_tokens": 0}
    elif isinstance(raw.get("usage"), dict) and isinstance(raw.get("model"), dict):  # LLM labels
        used, model = raw["usage"], str(raw["model"].get("id"))
        found = {
            "input_tokens": int(used.get("prompt_tokens", 0)),
            "output_tokens": int(used.get("completion_tokens", 0)),
        }
    else:
        return {}
    requests, retries = int(used.get("requests", 0)), int(used.get("retries", 0))
    cost = estimated_cost(price_table(DataDir(ds.path.parent)), model, found["input_tokens"], found["output_tokens"])
    # A reused artifact made no calls in this run: its figures are those of the run that made it.
    return {
        "model": model,
        "requests": requests,
        "retries": retries,
        **found,
        "estimated_cost_usd": cost if cost is not None else "no price for this model (add it to _prices.yaml)",
    }


def viewer_link(dataset: str, scope_id: str) -> dict[str, Any]:
    """The scope in the viewer, when LATENT_SCOPE_VIEWER_URL says where the viewer is."""
    base = (settings.get(VIEWER_ENV) or "").rstrip("/")
    if not base:
        return {}
    return {"viewer": dg.MetadataValue.url(f"{base}/datasets/{quote(dataset)}/explore/{quote(scope_id)}")}


def changes_metadata(sidecar: Sidecar) -> dict[str, Any]:
    """What a refresh changed, for a scope made beside an earlier one: the counts, and the topics as a table."""
    report = sidecar.raw.get("changes")
    if not report:
        return {}
    counts = changes_stage.summary(report)
    lines = ["| topic | status | before | after |", "| --- | --- | ---: | ---: |"]
    changed = [t for t in report["topics"] if t["status"] != "same"]
    lines += [f"| {_cell(t['label'])} | {t['status']} | {t['before']} | {t['after']} |" for t in changed]
    return {"changed_from": report["from"], **counts, "changes": dg.MetadataValue.md("\n".join(lines))}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:80]


def thumbnail(png: Path) -> dict[str, Any]:
    if not png.is_file():
        return {}
    found: dict[str, Any] = {"thumbnail_path": dg.MetadataValue.path(str(png))}
    data = png.read_bytes()
    if len(data) <= THUMBNAIL_LIMIT:
        found["thumbnail"] = dg.MetadataValue.md(
            f"![{png.stem}](data:image/png;base64,{base64.b64encode(data).decode()})"
        )
    return found


def _plain(value: Any) -> Any:
    # Dagster metadata takes str, int, float and bool; None ("use the dataset's default") shows as text.
    return "None" if value is None else value if isinstance(value, str | int | float | bool) else str(value)
