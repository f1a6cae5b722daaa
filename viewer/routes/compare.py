"""Two scopes of one dataset side by side: the versions of a scope's line, and which clusters of scope A became
which clusters of scope B (overlap counts and Jaccard, from ls_pipeline/steps/compare.py)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.steps import compare as compare_step
from ls_pipeline.steps import curate
from ls_pipeline.store.files import Version
from viewer.catalog import Scope
from viewer.errors import BadRequest
from viewer.routes.common import Json, catalog, scope_of, work


async def versions(request: Request) -> Response:
    """Every version of the scope's line of edits, oldest first: id, the edit that made it, when."""
    found = await work(scope_of, request)
    cat = catalog(request)
    visible = set(await work(cat.scope_ids, found.dataset))
    ids = [i for i in await work(curate.line_of, found.dataset, found.id) if i in visible]
    out = []
    for scope_id in ids:
        raw = (await work(cat.scope, found.dataset.name, scope_id)).sidecar.raw
        keys = ("id", "label", "edited_from", "edit", "created_at", "removed", "cluster_labels_id")
        out.append({k: raw.get(k) for k in keys} | {"can_undo": bool(raw.get("undo_to"))})
    return Json(out)


async def compare(request: Request) -> Response:
    """Cluster overlap of this scope (a) with scope {other} (b): every pair sharing rows, and each cluster of a's
    best match in b. Removed rows of either scope are left out unless include_removed=true."""
    a = await work(scope_of, request)
    b = await work(catalog(request).scope, a.dataset.name, request.path_params["other"])
    include_removed = request.query_params.get("include_removed", "false")
    if include_removed not in ("true", "false"):
        raise BadRequest("include_removed must be true or false")
    table = await work(_overlap, a, b, include_removed == "true")
    return Json(table)


def _overlap(a: Scope, b: Scope, include_removed: bool) -> dict[str, Any]:
    clusters_a = _clusters(a.rows_parts(), a.rows_version())
    clusters_b = _clusters(b.rows_parts(), b.rows_version())
    if len(clusters_a[0]) != len(clusters_b[0]):
        raise BadRequest(
            f"scopes {a.id} and {b.id} have {len(clusters_a[0])} and {len(clusters_b[0])} rows; re-run the older one"
        )
    rows, pairs, best = compare_step.cluster_overlap(clusters_a, clusters_b, include_removed)
    labels_a = {c["cluster"]: c.get("label") for c in a.clusters()}
    labels_b = {c["cluster"]: c.get("label") for c in b.clusters()}
    for row in pairs:
        row["a_label"], row["b_label"] = labels_a.get(row["a"]), labels_b.get(row["b"])
    return {
        "a": a.id,
        "b": b.id,
        "rows": rows,
        "pairs": pairs,
        "best": [best[k] for k in sorted(best)],
    }


async def changes(request: Request) -> Response:
    """What the refresh that made this scope changed since the scope before it: rows added and removed, and each
    topic new, grown, shrunk, vanished or the same (recorded when the scope was made). A scope no refresh made
    (the first of its name) answers from: null and no topics."""
    found = await work(scope_of, request)
    report = found.sidecar.raw.get("changes") or {"from": None, "rows_added": 0, "rows_removed": 0, "topics": []}
    return Json({k: report[k] for k in ("from", "rows_added", "rows_removed", "topics")})


@lru_cache(maxsize=8)
def _clusters(parts: tuple[Path, ...], _version: Version) -> tuple[np.ndarray, np.ndarray]:
    """Cached per version of the scope's rows: the cluster of each row in ls_index order, and its removed flag."""
    return compare_step.scope_clusters(parts)
