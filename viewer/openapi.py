"""An OpenAPI 3 document built from the route table: every /api route with its methods, its path and query
parameters (types, ranges and enums from the server's own limits) and the shape of its answers.

Schemathesis generates its requests from this document (tests/test_viewer_fuzz.py), so it is the contract in
machine-readable form: a parameter it describes too loosely is fuzzed too little, one it describes wrongly fails.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import BaseRoute, Route

from viewer.facets import BASELINES, RANKS
from viewer.filters import OPS, TAGS_MODES
from viewer.keyword import TEXT_MODES
from viewer.openapi_shapes import (
    BIG,
    BODIES,
    ERROR,
    FILTER_POSTS,
    ID,
    NO_NUL,
    REQUESTS,
    SELECTION,
    TAG,
    Schema,
    array_of,
)
from viewer.settings import Limits

REMOVED: Schema = {
    "name": "include_removed",
    "in": "query",
    "required": False,
    "description": "true: also the rows a curator removed (hidden otherwise)",
    "schema": {"type": "string", "enum": ["true", "false"]},
}


def query_parameters(limits: Limits) -> dict[str, list[Schema]]:
    """The query parameters of each route name, bounded by this server's limits."""
    text: Schema = {"type": "string", "maxLength": limits.max_query_chars, "pattern": NO_NUL}
    big_int: Schema = {"type": "integer", "minimum": -BIG, "maximum": BIG}
    where = array_of(
        {
            "type": "object",
            "required": ["column", "op"],
            "properties": {"column": {"type": "string"}, "op": {"type": "string", "enum": list(OPS)}, "value": {}},
        }
    )
    filters = [
        _query("cluster", "keep rows in any of these clusters (repeat the parameter)", array_of(big_int)),
        _query(
            "tag",
            "keep rows in these tags of the dataset (repeat the parameter; all of them unless tags_mode)",
            array_of(TAG),
        ),
        _query(
            "tags_mode",
            "all: rows in every tag given (the default); any: rows in at least one",
            {"type": "string", "enum": list(TAGS_MODES)},
        ),
        {
            "name": "where",
            "in": "query",
            "description": "JSON list of column conditions; a column must be one of the dataset's (meta.columns) "
            "or ls_index, x, y, cluster, label, and a value must match the column's type",
            "content": {"application/json": {"schema": {**where, "maxItems": Limits.max_where_conditions}}},
        },
        _query("text", "keyword search in the text column, matched as text_mode says", text),
        _query(
            "text_mode",
            "literal: a case-insensitive substring (the default); word: whole words, ignoring case; regex: a regular "
            "expression in DuckDB's RE2 dialect, as written (an invalid one is a 400)",
            {"type": "string", "enum": list(TEXT_MODES)},
        ),
        _query("q", "semantic query: only the top-k nearest rows pass, and rows carry score", text),
        _query("k", "how many nearest rows q keeps", _range(1, limits.max_k)),
        # No maxItems: max_selection is checked by the server, and 10,000 repeated values would not fit in the
        # 64 KiB a URL may have (httptools refuses longer ones before the viewer sees them).
        _query("ls_index", "explicit selection (repeat the parameter; at most max_selection)", array_of(big_int)),
        _query("selection", "explicit selection as a comma list of ls_index", SELECTION),
        _query(
            "sort",
            "a column of the dataset (meta.columns) or of the scope, '-' first for descending; score when q is given",
            {"type": "string", "pattern": NO_NUL, "maxLength": 200},
        ),
        REMOVED,
    ]
    page = [
        _query("offset", "first row", _range(0, BIG)),
        _query("limit", "rows per page", _range(1, limits.max_page_size)),
    ]
    search_q = {"type": "string", "minLength": 1, "maxLength": limits.max_query_chars}
    # Something besides whitespace, and no NUL. The server strips as Python does, which also takes U+001C-U+001F
    # and U+0085 for whitespace (a JSON Schema's \s does not): the pattern leaves those out too.
    search_q["pattern"] = r"^[^\x00]*[^\s\x00\x1c-\x1f\x85][^\x00]*$"
    return {
        "points": [
            _query("color_by", "a column of the dataset to colour by (adds color)", {"type": "string"}),
            REMOVED,
        ],
        "compare": [REMOVED],
        "clusters": [_query("level", "label hierarchy level (0: the clusters)", _range(0, 100))],
        "rows": page + filters,
        "indices": filters,
        "search": [
            {**_query("q", "the query text", search_q), "required": True},
            _query("k", "how many results", _range(1, limits.max_k)),
        ],
        "neighbors": [
            {**_query("ls_index", "the row whose neighbours to find", _range(0, BIG)), "required": True},
            _query("k", "how many results", _range(1, limits.max_k)),
        ],
        "export": [_query("format", "file format", {"type": "string", "enum": ["csv", "parquet", "jsonl"]})] + filters,
        "facets": facet_parameters(limits) + filters,
        "import_upload": [
            {**_query("name", "the dataset the tweets go into", ID), "required": True},
            {
                "name": "x-import-secret",
                "in": "header",
                "required": False,
                "description": "the secret the first upload to this name returned (required to re-import)",
                "schema": {"type": "string", "maxLength": 200},
            },
        ],
    }


def facet_parameters(limits: Limits) -> list[Schema]:
    """The facets route's own parameters (beside every filter of rows)."""
    columns = {
        **array_of({"type": "string", "pattern": NO_NUL, "maxLength": 200}),
        "maxItems": limits.max_facet_columns,
    }
    return [
        _query("column", "a column to chart (repeat; ls_tags for the tags; none: defaults from the types)", columns),
        _query("limit", "category values listed, largest first", _range(1, limits.max_facet_buckets)),
        _query("bins", "most bars of a number or date histogram", _range(2, limits.max_facet_buckets)),
        _query("baseline", "scope: every bucket also carries the whole scope's count", _enum(BASELINES)),
        _query("rank", "category values by count, or by lift over the scope (implies baseline)", _enum(RANKS)),
        _query("min_count", "fewest rows a value needs to be ranked by lift", _range(1, BIG)),
    ]


def facet_body(limits: Limits) -> Schema:
    """The facets POST: the filters of a rows POST (no paging) and the facet parameters, lists as JSON arrays."""
    body = _without(filter_body(limits), ("offset", "limit"))
    schema = body["content"]["application/json"]["schema"]
    facet = {p["name"]: p["schema"] for p in facet_parameters(limits)}
    return {
        **body,
        "content": {"application/json": {"schema": {**schema, "properties": {**schema["properties"], **facet}}}},
    }


def filter_body(limits: Limits) -> Schema:
    """A POST's JSON body: the same filters as the query parameters, lists as JSON arrays (no URL length limit)."""
    big_int: Schema = {"type": "integer", "minimum": -BIG, "maximum": BIG}
    text: Schema = {"type": "string", "maxLength": limits.max_query_chars, "pattern": NO_NUL}
    properties: dict[str, Schema] = {
        "cluster": array_of(big_int),
        "tag": array_of(TAG),
        "tags_mode": {"type": "string", "enum": list(TAGS_MODES)},
        "where": {"type": "array", "maxItems": limits.max_where_conditions, "items": {"type": "object"}},
        "text": text,
        "text_mode": {"type": "string", "enum": list(TEXT_MODES)},
        "q": text,
        "k": _range(1, limits.max_k),
        "ls_index": {**array_of({"type": "integer", "minimum": 0, "maximum": BIG}), "maxItems": limits.max_selection},
        "sort": {"type": "string", "pattern": NO_NUL, "maxLength": 200},
        "include_removed": {"type": "boolean"},
        "offset": _range(0, BIG),
        "limit": _range(1, limits.max_page_size),
    }
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def openapi(routes: list[BaseRoute], version: str, limits: Limits | None = None) -> dict[str, Any]:
    limits = limits or Limits()
    queries = query_parameters(limits)
    paths: dict[str, Any] = {}
    for route in routes:
        if not isinstance(route, Route) or "{rest" in route.path:
            continue
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        for method in methods:
            op_id = route.name if len(methods) == 1 else f"{route.name}_{method.lower()}"
            query = queries.get(route.name, [])
            operation = _operation(route, op_id, query)
            if route.name in ("tag_add", "tag_remove"):  # which rows: the filters, as a body
                operation = {**operation, "requestBody": _without(filter_body(limits), ("offset", "limit"))}
            if method == "POST" and route.name in FILTER_POSTS:  # the filters move into the body
                body = filter_body(limits)
                if route.name == "facets":
                    body = facet_body(limits)
                elif route.name != "rows":
                    body = _without(body, ("offset", "limit"))
                kept = [p for p in operation["parameters"] if p["in"] == "path" or p["name"] == "format"]
                operation = {**operation, "parameters": kept, "requestBody": body}
            paths.setdefault(route.path, {})[method.lower()] = operation
    return {"openapi": "3.0.3", "info": {"title": "Latent Scope viewer", "version": version}, "paths": paths}


def _operation(route: Route, op_id: str, query: list[Schema]) -> Schema:
    doc = (route.endpoint.__doc__ or route.name).strip().splitlines()[0]
    path = [
        {"name": p, "in": "path", "required": True, "description": "an id", "schema": TAG if p == "tag" else ID}
        for p in re.findall(r"{(\w+)}", route.path)
    ]
    bodies = BODIES.get(route.name, {"application/json": {}})
    error = {"description": "a client error", "content": {"application/json": {"schema": ERROR}}}
    # Accepted: the import's pipeline runs later, in Dagster; created: a new tag.
    created = ("tag_create", "scope_edit", "scope_undo", "exclusions_change", "exclusions_undo")
    ok = {"import_upload": "202", **dict.fromkeys(created, "201")}.get(route.name or "", "200")
    operation = {
        "operationId": op_id,
        "summary": doc,
        "parameters": path + query,
        "responses": {
            ok: {"description": "ok", "content": {media: {"schema": s} for media, s in bodies.items()}},
            "4XX": error,
        },
    }
    body = REQUESTS.get(route.name or "")
    return {**operation, "requestBody": body} if body else operation


def _without(body: Schema, keys: tuple[str, ...]) -> Schema:
    schema = body["content"]["application/json"]["schema"]
    properties = {k: v for k, v in schema["properties"].items() if k not in keys}
    return {**body, "content": {"application/json": {"schema": {**schema, "properties": properties}}}}


def _query(name: str, description: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _enum(values: tuple[str, ...]) -> Schema:
    return {"type": "string", "enum": list(values)}


def _range(low: int, high: int) -> Schema:
    return {"type": "integer", "minimum": low, "maximum": high}
