"""Facets of a scope's filtered rows: per column, category counts or a histogram, each under every filter but its own
column's, optionally beside the whole scope's counts (viewer/facets.py, viewer/facet_queries.py)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from viewer import facet_queries
from viewer.bodies import FILTER_KEYS
from viewer.facets import FACET_KEYS, TAGS_FACET, facet_kinds, parse_facets
from viewer.routes.common import (
    Json,
    catalog,
    database,
    filter_of,
    limits,
    params_of,
    resolve_now,
    scope_of,
    source_of,
    work,
)


async def facets(request: Request) -> Response:
    """Counts per column of the rows under the filters: top categories, histograms of numbers and dates, booleans."""
    params = await params_of(request, FILTER_KEYS + FACET_KEYS)
    return Json(await work(_facets, request, params))


def _facets(request: Request, params: QueryParams) -> dict[str, Any]:
    # All on one worker thread: a hop off the event loop per step costs more than most charts' queries.
    found = scope_of(request)
    lim = limits(request)
    f = filter_of(params, found, lim)
    meta = found.dataset_meta()
    tag_names = catalog(request).tag_names(found.dataset)
    wanted = parse_facets(params, meta, bool(tag_names), lim)
    resolved = resolve_now(request, found, f)
    tags = catalog(request).tags(found.dataset) if TAGS_FACET in wanted.columns else {}
    src, store = source_of(found), database(request)

    def run(sql: str, bound: dict[str, Any], relations: Any = None) -> Any:
        return store.table(sql, bound, lim.facet_time_limit_ms, relations)

    with store.lease(src) as table:
        scope = facet_queries.Scope(run, table, src, f, resolved, facet_kinds(meta), tags)
        return facet_queries.facets(scope, wanted)
