"""Datasets, their scopes, a scope's clusters and thumbnail."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.store.layout import CLUSTER, THUMBNAIL, UMAP
from viewer.catalog import read_json
from viewer.errors import BadRequest, NotFound
from viewer.filters import parse_int
from viewer.routes.common import Json, catalog, scope_of, work


async def datasets(request: Request) -> Response:
    """meta.json of every dataset (in single_profile mode only the public one)."""
    cat = catalog(request)
    return Json(await work(lambda: [read_json(cat.dataset(n).meta_path) for n in cat.dataset_names()]))


async def meta(request: Request) -> Response:
    """meta.json of one dataset: columns, text column, column types and stats."""
    return Json(await work(catalog(request).meta, request.path_params["dataset"]))


async def scopes(request: Request) -> Response:
    """The dataset's scopes, without their cluster lookup (one small request per scope switch)."""
    found = await work(catalog(request).scopes, request.path_params["dataset"])
    return Json([sidecar.light() for sidecar in found])


async def scope(request: Request) -> Response:
    """One scope's JSON, with cluster_labels_lookup (counted where Latent Scope's lookup has no counts)."""
    found = await work(scope_of, request)
    return Json({**found.sidecar.raw, "cluster_labels_lookup": await work(found.clusters)})


async def thumbnail(request: Request) -> Response:
    """The scope's cluster PNG (or its projection PNG when the clustering has none)."""
    found = await work(scope_of, request)
    candidates = [
        found.dataset.file(CLUSTER, found.sidecar.cluster_id, THUMBNAIL),
        found.dataset.file(UMAP, found.sidecar.umap_id, THUMBNAIL),
    ]
    for path in candidates:
        if path.is_file():
            return Response(await work(path.read_bytes), media_type="image/png")
    await work(catalog(request).check_store)  # not a missing image but a store that is down: a 503
    raise NotFound(f"scope {found.id!r} has no thumbnail image")


async def clusters(request: Request) -> Response:
    """Clusters with label, description, count, noise, hull, terms; level=N for a level of a label hierarchy."""
    found = await work(scope_of, request)
    level = parse_int(request.query_params, "level", 0, 0, 100)
    # clusters are level 0; their parent topics (label levels) sit in a list of their own
    lookup = await work(found.clusters) + found.sidecar.cluster_levels_lookup
    return Json(clusters_at(lookup, level))


def clusters_at(lookup: list[dict[str, Any]], level: int) -> list[dict[str, Any]]:
    chosen = [c for c in lookup if int(c.get("level", 0) or 0) == level]
    if level > 0 and not chosen:
        raise BadRequest(f"this scope's labels have no level {level}; leave out level for the clusters")
    return chosen
