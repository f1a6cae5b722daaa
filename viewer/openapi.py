"""An OpenAPI 3 document built from the route table: every /api route with its methods, its path and query
parameters (types, ranges and enums from the server's own limits) and the shape of its answers.

Schemathesis generates its requests from this document (tests/test_viewer_fuzz.py), so it is the contract in
machine-readable form: a parameter it describes too loosely is fuzzed too little, one it describes wrongly fails.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import BaseRoute, Route

from ls_pipeline.store.imports import STATES as IMPORT_STATES
from viewer.filters import OPS, TAGS_MODES
from viewer.settings import MODES, Limits

Schema = dict[str, Any]
BIG = Limits.max_integer  # integers the filters accept by default (they are bound as BIGINT)
# The id rule of viewer/catalog.py check_id: letters, digits, '.', '_', '-', at most 100, never '..'.
ID: Schema = {"type": "string", "pattern": r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"}
# The tag rule of ls_pipeline/store/tag_names.py: any Unicode (emoji, ZWJ, variation selectors) but '.', '/', '\',
# control, bidirectional-control and separator characters, not blank; 50 characters keep any name within its bytes.
TAG: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 50,
    "pattern": r"^(?=.*\S)[^./\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]+$",
}
NO_NUL = "^[^\\x00]*$"
INDICES: Schema = {"type": "array", "items": {"type": "integer", "minimum": 0}}
SELECTION: Schema = {"type": "string", "pattern": r"^(\d{1,18}(,\d{1,18})*)?$"}

ERROR: Schema = {
    "type": "object",
    "required": ["ok", "error", "status"],
    "properties": {
        "ok": {"type": "boolean", "enum": [False]},
        "error": {"type": "string", "minLength": 1},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
    "additionalProperties": False,
}
META: Schema = {
    "type": "object",
    "required": ["id", "length", "columns", "text_column"],
    "properties": {
        "id": {"type": "string"},
        "length": {"type": "integer", "minimum": 0},
        "columns": {"type": "array", "items": {"type": "string"}},
        "text_column": {"type": "string"},
        "column_metadata": {"type": "object"},
    },
}
CLUSTER: Schema = {
    "type": "object",
    "required": ["cluster", "label", "count", "hull"],
    "properties": {
        "cluster": {"type": "integer"},
        "label": {"type": "string"},
        "description": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "hull": INDICES,
        "terms": {"type": "array", "items": {"type": "string"}},
    },
}
SCOPE_LIGHT: Schema = {
    "type": "object",
    "required": ["id", "dataset", "embedding_id", "umap_id", "cluster_id"],
    "properties": {
        **{k: {"type": "string"} for k in ("id", "embedding_id", "umap_id", "cluster_id")},
        # the dataset's meta.json as Latent Scope copies it (a scope made before that holds the dataset's name)
        "dataset": {"oneOf": [META, {"type": "string"}]},
    },
}
SCOPE: Schema = {
    **SCOPE_LIGHT,
    "required": [*SCOPE_LIGHT["required"], "cluster_labels_lookup"],
    "properties": {**SCOPE_LIGHT["properties"], "cluster_labels_lookup": {"type": "array", "items": CLUSTER}},
}
ROW: Schema = {  # plus every input column of the dataset
    "type": "object",
    "required": ["ls_index", "x", "y", "cluster", "label"],
    "properties": {
        "ls_index": {"type": "integer", "minimum": 0},
        "x": {"type": "number"},
        "y": {"type": "number"},
        "cluster": {"type": "integer"},
        "label": {"type": "string", "nullable": True},
    },
}
SCORED: Schema = {
    **ROW,
    "required": [*ROW["required"], "score"],
    "properties": {**ROW["properties"], "score": {"type": "number"}},
}
BINARY: Schema = {"type": "string", "format": "binary"}
FILTER_POSTS = ("rows", "indices", "export")  # routes that take their filters as a JSON body by POST too


def _object(**properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


NULLABLE_STRING: Schema = {"type": "string", "nullable": True}
IMPORT_ANSWER: Schema = _object(
    name={"type": "string"}, rows={"type": "integer", "minimum": 1}, bytes={"type": "integer"}, status={}
)
# secret: in the first upload's answer only; it is shown once and kept only as a hash
IMPORT_ANSWER["properties"]["secret"] = {"type": "string", "minLength": 20}
TAG_EDITS = ("tag_create", "tag_rename", "tag_delete", "tag_add", "tag_remove", "tag_undo")
SCOPE_EDITS = ("scope_edit", "scope_undo")  # each publishes a new scope version
EDITS = TAG_EDITS + SCOPE_EDITS  # studio mode's writes
VERSION: Schema = _object(
    scope={"type": "string"},
    labels_id={"type": "string"},
    edited_from={"type": "string"},
    edit={"type": "object"},
    removed={"type": "integer", "minimum": 0},
    can_undo={"type": "boolean"},
)
SCOPE_EDIT: Schema = {
    "type": "object",
    "required": ["op"],
    "properties": {
        "op": {"type": "string", "enum": ["rename", "move", "merge", "remove", "restore"]},
        "cluster": {"type": "integer"},
        "to": {"type": "integer"},
        "rows": _array({"type": "integer", "minimum": 0}),
        "label": {"type": "string"},
        "description": {"type": "string"},
    },
    "additionalProperties": False,
}
EDIT: Schema = {  # one entry of the tag history, without the rows before and after, and the tags' counts after
    **_object(
        seq={"type": "integer", "minimum": 1},
        at={"type": "string"},
        op={"type": "string", "enum": ["create", "rename", "delete", "change", "undo"]},
        tag={"type": "string"},
        counts={"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "nullable": True}},
    ),
}
BODIES: dict[str, dict[str, Schema]] = {
    "app": {
        "application/json": _object(
            mode={"type": "string", "enum": list(MODES)},
            read_only={"type": "boolean"},
            tag_edits={"type": "boolean"},
            write_token=NULLABLE_STRING,
            imports={"type": "boolean"},
            max_upload_mb={"type": "integer", "minimum": 1, "nullable": True},
            public_dataset=NULLABLE_STRING,
            public_scope=NULLABLE_STRING,
            version={"type": "string"},
        )
    },
    "models": {"application/json": _array(_object(id={"type": "string"}))},
    "datasets": {"application/json": _array(META)},
    "meta": {"application/json": META},
    "scopes": {"application/json": _array(SCOPE_LIGHT)},
    "scope": {"application/json": SCOPE},
    "thumbnail": {"image/png": BINARY},
    "points": {"application/vnd.apache.arrow.stream": BINARY},
    "clusters": {"application/json": _array(CLUSTER)},
    "rows": {
        "application/json": _object(
            total={"type": "integer", "minimum": 0},
            offset={"type": "integer", "minimum": 0},
            limit={"type": "integer", "minimum": 1},
            rows=_array(ROW),
            next={"type": "integer", "minimum": 1, "nullable": True},
        )
    },
    "indices": {"application/json": _object(total={"type": "integer", "minimum": 0}, indices=INDICES)},
    "search": {"application/json": _object(query={"type": "string"}, model_id=NULLABLE_STRING, results=_array(SCORED))},
    "neighbors": {
        "application/json": _object(
            ls_index={"type": "integer", "minimum": 0}, model_id=NULLABLE_STRING, results=_array(SCORED)
        )
    },
    "export": {
        "text/csv": {"type": "string"},
        "application/vnd.apache.parquet": BINARY,
        "application/x-ndjson": {"type": "string"},
    },
    "tags": {"application/json": _array(_object(tag={"type": "string"}, count={"type": "integer", "minimum": 0}))},
    "tag": {"application/json": _object(tag={"type": "string"}, indices=INDICES)},
    **{name: {"application/json": EDIT} for name in TAG_EDITS},
    **{name: {"application/json": VERSION} for name in SCOPE_EDITS},
    "versions": {"application/json": _array({"type": "object", "required": ["id", "edited_from", "edit"]})},
    "compare": {"application/json": _object(a={"type": "string"}, b={"type": "string"}, pairs=_array({}))},
    "tag_history": {"application/json": _array({"type": "object", "required": ["seq", "at", "op", "tag"]})},
    "openapi": {"application/json": _object(openapi={"type": "string"}, info={"type": "object"}, paths={})},
    "import_upload": {"application/json": IMPORT_ANSWER},
    "import_status": {
        "application/json": {
            "type": "object",
            "required": ["name", "state"],
            "properties": {"name": {"type": "string"}, "state": {"type": "string", "enum": IMPORT_STATES}},
        }
    },
}
# Hosted mode's upload: the minimized tweets (privacy mode) or the whole archive; see docs/viewer-api.md.
UPLOADS: Schema = {
    "required": True,
    "content": {
        "application/json": {"schema": _object(format={"type": "string"}, tweets=_array({"type": "object"}))},
        "application/zip": {"schema": BINARY},
    },
}


def _named(key: str) -> Schema:
    return {
        "required": True,
        "content": {"application/json": {"schema": {**_object(**{key: TAG}), "additionalProperties": False}}},
    }


REQUESTS: dict[str, Schema] = {
    "import_upload": UPLOADS,
    "tag_create": _named("tag"),
    "tag_rename": _named("to"),
    "scope_edit": {"required": True, "content": {"application/json": {"schema": SCOPE_EDIT}}},
}


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
    where = _array(
        {
            "type": "object",
            "required": ["column", "op"],
            "properties": {"column": {"type": "string"}, "op": {"type": "string", "enum": list(OPS)}, "value": {}},
        }
    )
    filters = [
        _query("cluster", "keep rows in any of these clusters (repeat the parameter)", _array(big_int)),
        _query(
            "tag",
            "keep rows in these tags of the dataset (repeat the parameter; all of them unless tags_mode)",
            _array(TAG),
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
        _query("text", "literal, case-insensitive substring of the text column", text),
        _query("q", "semantic query: only the top-k nearest rows pass, and rows carry score", text),
        _query("k", "how many nearest rows q keeps", _range(1, limits.max_k)),
        # No maxItems: max_selection is checked by the server, and 10,000 repeated values would not fit in the
        # 64 KiB a URL may have (httptools refuses longer ones before the viewer sees them).
        _query("ls_index", "explicit selection (repeat the parameter; at most max_selection)", _array(big_int)),
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


def filter_body(limits: Limits) -> Schema:
    """A POST's JSON body: the same filters as the query parameters, lists as JSON arrays (no URL length limit)."""
    big_int: Schema = {"type": "integer", "minimum": -BIG, "maximum": BIG}
    text: Schema = {"type": "string", "maxLength": limits.max_query_chars, "pattern": NO_NUL}
    properties: dict[str, Schema] = {
        "cluster": _array(big_int),
        "tag": _array(TAG),
        "tags_mode": {"type": "string", "enum": list(TAGS_MODES)},
        "where": {"type": "array", "maxItems": limits.max_where_conditions, "items": {"type": "object"}},
        "text": text,
        "q": text,
        "k": _range(1, limits.max_k),
        "ls_index": {**_array({"type": "integer", "minimum": 0, "maximum": BIG}), "maxItems": limits.max_selection},
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
                if route.name != "rows":
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
    ok = {"import_upload": "202", "tag_create": "201", "scope_edit": "201", "scope_undo": "201"}.get(
        route.name or "", "200"
    )
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


def _range(low: int, high: int) -> Schema:
    return {"type": "integer", "minimum": low, "maximum": high}
