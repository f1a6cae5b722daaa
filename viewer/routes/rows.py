"""Filtered rows of a scope: a page, all matching indices, semantic search, and export as a file."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from starlette.requests import Request
from starlette.responses import Response

from viewer import db
from viewer.bodies import FILTER_KEYS, PAGE_KEYS
from viewer.catalog import Scope
from viewer.errors import BadRequest, shown
from viewer.filters import Query, Resolved, RowFilter, parse_int, parse_page
from viewer.routes.common import (
    Json,
    catalog,
    database,
    dumps,
    filter_of,
    limits,
    params_of,
    records,
    resolve,
    scope_of,
    semantic_now,
    similar,
    source_of,
    work,
)

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/x-ndjson; charset=utf-8",
}


async def rows(request: Request) -> Response:
    """A page of rows matching every filter (cluster, tag, where, text, q+k, ls_index selection), sorted."""
    found = await work(scope_of, request)
    params = await params_of(request, FILTER_KEYS + PAGE_KEYS)
    f = filter_of(params, found, limits(request))
    page = parse_page(params, limits(request))
    resolved = await resolve(request, found, f)
    total = int((await _run(request, found, db.count_sql, f, resolved)).column(0)[0].as_py())
    table = await _run(request, found, db.page_sql, f, resolved, page)
    end = page.offset + table.num_rows
    return Json(
        {
            "total": total,
            "offset": page.offset,
            "limit": page.limit,
            "rows": records(table),
            "next": end if end < total else None,
        }
    )


async def indices(request: Request) -> Response:
    """Every matching ls_index (for dimming the map), same filters as rows."""
    found = await work(scope_of, request)
    f = filter_of(await params_of(request, FILTER_KEYS), found, limits(request))
    resolved = await resolve(request, found, f)
    table = await _run(request, found, db.indices_sql, f, resolved)
    values = table.column(0).to_pylist()
    return Json({"total": len(values), "indices": values})


async def search(request: Request) -> Response:
    """Exact cosine top-k of q against the scope's embeddings, with the rows."""
    return Json(await work(_search, request))


def _search(request: Request) -> dict[str, Any]:
    # All on one worker thread: the scope, the query's embedding, the top-k and the rows (see semantic_now).
    found = scope_of(request)
    q = request.query_params.get("q", "")
    if not q.strip():
        raise BadRequest("search needs a query: ?q=TEXT")
    lim = limits(request)
    if len(q) > lim.max_query_chars or "\x00" in q:
        raise BadRequest(f"q must be at most max_query_chars={lim.max_query_chars} characters, without NUL")
    k = parse_int(request.query_params, "k", lim.default_search_k, 1, lim.max_k)
    matches = semantic_now(request, found, q, k)
    table = database(request).scored_rows(source_of(found), matches.indices, matches.scores)
    return {"query": q, "model_id": found.embedding.model_id or None, "results": records(table)}


async def neighbors(request: Request) -> Response:
    """The k rows nearest to one row (exact cosine over the scope's embeddings), with the rows; needs no model."""
    found = await work(scope_of, request)
    if "ls_index" not in request.query_params:
        raise BadRequest("neighbors needs a row: ?ls_index=N")
    lim = limits(request)
    row = parse_int(request.query_params, "ls_index", 0, 0, lim.max_integer)
    k = parse_int(request.query_params, "k", lim.default_search_k, 1, lim.max_k)
    matches = await similar(request, found, row, k)
    table = await work(database(request).scored_rows, source_of(found), matches.indices, matches.scores)
    return Json({"ls_index": row, "model_id": found.embedding.model_id or None, "results": records(table)})


async def export(request: Request) -> Response:
    """The filtered rows as a csv, parquet or jsonl download, with x, y, cluster, label and tag:NAME columns."""
    found = await work(scope_of, request)
    params = await params_of(request, FILTER_KEYS + ("format",))
    fmt = params.get("format", "csv")
    if fmt not in EXPORT_TYPES:
        raise BadRequest(f"unknown export format {shown(fmt)}; use csv, parquet or jsonl")
    f = filter_of(params, found, limits(request))
    resolved = await resolve(request, found, f)
    tags = {name: values.tolist() for name, values in (await work(catalog(request).tags, found.dataset)).items()}
    table = await _run(request, found, db.export_sql, f, resolved, tags)
    body = await work(encode, table, fmt)
    name = f"{found.dataset.name}-{found.id}.{fmt}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=EXPORT_TYPES[fmt], headers=headers)


def encode(table: pa.Table, fmt: str) -> bytes:
    sink = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, sink)
    elif fmt == "csv":
        pcsv.write_csv(table, sink)
    else:
        for row in table.to_pylist():
            sink.write(dumps(row) + b"\n")
    return sink.getvalue()


async def _run(
    request: Request, found: Scope, build: Callable[..., Query], f: RowFilter, resolved: Resolved, *extra: Any
) -> pa.Table:
    """Build one query over the scope's table, with the values it binds, and run it off the event loop."""
    src, store = source_of(found), database(request)
    return await work(store.scope_query, src, lambda name: build(name, src, f, resolved, *extra))
