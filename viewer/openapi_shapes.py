"""The JSON shapes in the OpenAPI document (viewer/openapi.py): what each route answers, and the bodies the writing
routes take."""

from __future__ import annotations

from typing import Any

from ls_pipeline.store.imports import STATES as IMPORT_STATES
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
FILTER_POSTS = ("rows", "indices", "export", "facets")  # routes that take their filters as a JSON body by POST too
COUNT: Schema = {"type": "integer", "minimum": 0}
BUCKET: Schema = {  # value (category, boolean) or start and end (number, date); scope_count and lift with a baseline
    "type": "object",
    "required": ["count"],
    "properties": {
        "value": {},
        "start": {},
        "end": {},
        "count": COUNT,
        "scope_count": COUNT,
        "lift": {"type": "number", "nullable": True},
    },
}
FACET: Schema = {
    "type": "object",
    "required": ["column", "type", "buckets", "other", "nulls", "total"],
    "properties": {
        "column": {"type": "string"},
        "type": {"type": "string", "enum": ["category", "number", "date", "boolean"]},
        "buckets": {"type": "array", "items": BUCKET},
        "other": COUNT,
        "nulls": COUNT,
        "total": COUNT,
        "interval": {"type": "string", "nullable": True},
        "scope": {"type": "object", "required": ["total", "other", "nulls"]},
    },
}


def object_of(**properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


def array_of(items: Schema) -> Schema:
    return {"type": "array", "items": items}


NULLABLE_STRING: Schema = {"type": "string", "nullable": True}
IMPORT_ANSWER: Schema = object_of(
    name={"type": "string"}, rows={"type": "integer", "minimum": 1}, bytes={"type": "integer"}, status={}
)
# secret: in the first upload's answer only; it is shown once and kept only as a hash
IMPORT_ANSWER["properties"]["secret"] = {"type": "string", "minLength": 20}
TOPIC_STATUS = ["new", "grown", "shrunk", "vanished", "same"]
CHANGES: Schema = object_of(
    **{"from": NULLABLE_STRING},
    rows_added=COUNT,
    rows_removed=COUNT,
    topics=array_of(
        object_of(
            cluster={"type": "integer"},
            label={"type": "string"},
            status={"type": "string", "enum": TOPIC_STATUS},
            before=COUNT,
            after=COUNT,
        )
    ),
)
TAG_EDITS = ("tag_create", "tag_rename", "tag_delete", "tag_add", "tag_remove", "tag_undo")
SCOPE_EDITS = ("scope_edit", "scope_undo")  # each publishes a new scope version
EXCLUSION_EDITS = ("exclusions_change", "exclusions_undo")  # each publishes a new version of the exclusion list
EDITS = TAG_EDITS + SCOPE_EDITS + EXCLUSION_EDITS  # studio mode's writes
EXCLUSIONS: Schema = object_of(
    version={"type": "string", "nullable": True},
    excluded={"type": "integer", "minimum": 0},
    rows={"type": "array", "items": {"type": "integer", "minimum": 0}},
    can_undo={"type": "boolean"},
)
VERSION: Schema = object_of(
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
        "rows": array_of({"type": "integer", "minimum": 0}),
        "label": {"type": "string"},
        "description": {"type": "string"},
    },
    "additionalProperties": False,
}
EDIT: Schema = {  # one entry of the tag history, without the rows before and after, and the tags' counts after
    **object_of(
        seq={"type": "integer", "minimum": 1},
        at={"type": "string"},
        op={"type": "string", "enum": ["create", "rename", "delete", "change", "undo"]},
        tag={"type": "string"},
        counts={"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "nullable": True}},
    ),
}
BODIES: dict[str, dict[str, Schema]] = {
    "app": {
        "application/json": object_of(
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
    "models": {"application/json": array_of(object_of(id={"type": "string"}))},
    "datasets": {"application/json": array_of(META)},
    "meta": {"application/json": META},
    "scopes": {"application/json": array_of(SCOPE_LIGHT)},
    "scope": {"application/json": SCOPE},
    "thumbnail": {"image/png": BINARY},
    "points": {"application/vnd.apache.arrow.stream": BINARY},
    "clusters": {"application/json": array_of(CLUSTER)},
    "rows": {
        "application/json": object_of(
            total={"type": "integer", "minimum": 0},
            offset={"type": "integer", "minimum": 0},
            limit={"type": "integer", "minimum": 1},
            rows=array_of(ROW),
            next={"type": "integer", "minimum": 1, "nullable": True},
        )
    },
    "indices": {"application/json": object_of(total={"type": "integer", "minimum": 0}, indices=INDICES)},
    "search": {
        "application/json": object_of(query={"type": "string"}, model_id=NULLABLE_STRING, results=array_of(SCORED))
    },
    "neighbors": {
        "application/json": object_of(
            ls_index={"type": "integer", "minimum": 0}, model_id=NULLABLE_STRING, results=array_of(SCORED)
        )
    },
    "facets": {"application/json": object_of(total=COUNT, facets=array_of(FACET))},
    "export": {
        "text/csv": {"type": "string"},
        "application/vnd.apache.parquet": BINARY,
        "application/x-ndjson": {"type": "string"},
    },
    "tags": {"application/json": array_of(object_of(tag={"type": "string"}, count={"type": "integer", "minimum": 0}))},
    "tag": {"application/json": object_of(tag={"type": "string"}, indices=INDICES)},
    **{name: {"application/json": EDIT} for name in TAG_EDITS},
    **{name: {"application/json": VERSION} for name in SCOPE_EDITS},
    **{name: {"application/json": EXCLUSIONS} for name in ("exclusions", *EXCLUSION_EDITS)},
    "versions": {"application/json": array_of({"type": "object", "required": ["id", "edited_from", "edit"]})},
    "compare": {"application/json": object_of(a={"type": "string"}, b={"type": "string"}, pairs=array_of({}))},
    "changes": {"application/json": CHANGES},
    "tag_history": {"application/json": array_of({"type": "object", "required": ["seq", "at", "op", "tag"]})},
    "openapi": {"application/json": object_of(openapi={"type": "string"}, info={"type": "object"}, paths={})},
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
        "application/json": {"schema": object_of(format={"type": "string"}, tweets=array_of({"type": "object"}))},
        "application/zip": {"schema": BINARY},
    },
}


def _named(key: str) -> Schema:
    return {
        "required": True,
        "content": {"application/json": {"schema": {**object_of(**{key: TAG}), "additionalProperties": False}}},
    }


ROWS: Schema = {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}
EXCLUSION_CHANGE: Schema = {
    "oneOf": [
        {
            **object_of(rows=ROWS),
            "properties": {"rows": ROWS, "source": {"type": "string", "enum": ["rows", "filter"]}},
        },
        object_of(removed_in=ID),
        object_of(tag=TAG),
        object_of(duplicates={"type": "boolean", "enum": [True]}),
        object_of(restore=ROWS),
    ]
}
REQUESTS: dict[str, Schema] = {
    "import_upload": UPLOADS,
    "tag_create": _named("tag"),
    "tag_rename": _named("to"),
    "scope_edit": {"required": True, "content": {"application/json": {"schema": SCOPE_EDIT}}},
    "exclusions_change": {"required": True, "content": {"application/json": {"schema": EXCLUSION_CHANGE}}},
}
