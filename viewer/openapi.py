"""An OpenAPI 3 document built from the route table: every /api route, its path and query parameters."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import BaseRoute, Route

_FILTERS: list[tuple[str, str, str]] = [
    ("cluster", "integer[]", "keep rows in any of these clusters (repeat the parameter)"),
    ("tag", "string", "keep rows in this tag"),
    (
        "where",
        "string",
        'JSON list of {"column", "op", "value"}; ops =, !=, <, <=, >, >=, in, contains, is_null, not_null',
    ),
    ("text", "string", "literal, case-insensitive substring of the text column"),
    ("q", "string", "semantic query; only the top-k nearest rows pass and rows carry score"),
    ("k", "integer", "how many nearest rows q keeps (1..max_k)"),
    ("ls_index", "integer[]", "explicit selection (repeat the parameter)"),
    ("selection", "string", "explicit selection as a comma list of ls_index"),
    ("sort", "string", "COLUMN or -COLUMN; score when q is given"),
]
_PAGE = [("offset", "integer", "first row (>= 0)"), ("limit", "integer", "rows per page (1..max_page_size)")]
QUERY: dict[str, list[tuple[str, str, str]]] = {
    "points": [("color_by", "string", "a column to colour by: adds color (float32 value or int32 category code)")],
    "clusters": [("level", "integer", "label hierarchy level (0: the clusters)")],
    "rows": _PAGE + _FILTERS,
    "indices": _FILTERS,
    "search": [("q", "string", "the query text (required)"), ("k", "integer", "results (1..max_k)")],
    "export": [("format", "string", "csv, parquet or jsonl")] + _FILTERS,
}
MEDIA = {
    "points": "application/vnd.apache.arrow.stream",
    "thumbnail": "image/png",
    "export": "application/octet-stream",
}
_ERROR = {
    "description": "error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}, "status": {"type": "integer"}},
            }
        }
    },
}


def openapi(routes: list[BaseRoute], version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        if not isinstance(route, Route) or "{rest" in route.path:
            continue
        name = route.name
        doc = (route.endpoint.__doc__ or name).strip().splitlines()[0]
        params = [_param(p, "path", "string", "id", True) for p in re.findall(r"{(\w+)}", route.path)]
        params += [_param(n, "query", t, d, n == "q" and name == "search") for n, t, d in QUERY.get(name, [])]
        media = MEDIA.get(name, "application/json")
        paths[route.path] = {
            ("post" if "POST" in (route.methods or ()) else "get"): {
                "operationId": name,
                "summary": doc,
                "parameters": params,
                "responses": {"200": {"description": "ok", "content": {media: {}}}, "4XX": _ERROR},
            }
        }
    return {"openapi": "3.0.3", "info": {"title": "Latent Scope viewer", "version": version}, "paths": paths}


def _param(name: str, where: str, kind: str, description: str, required: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": kind[:-2]}} if kind.endswith("[]") else {"type": kind}
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}
