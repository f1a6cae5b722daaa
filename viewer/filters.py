"""Query parameters -> a typed RowFilter -> a parameterized DuckDB WHERE clause.

Column names cannot be bound as parameters, so they are checked against the dataset's own column list and then
quoted; every value is bound. No user string ever becomes SQL text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from viewer.errors import BadRequest, shown
from viewer.keyword import TEXT_MODES, check_pattern, text_sql
from viewer.settings import Limits

_SELECTION = re.compile(r"([0-9]{1,18}(,[0-9]{1,18})*)?")

TAGS_MODES = ("all", "any")
OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "contains", "is_null", "not_null")
COMPARE = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# Columns every scope has, from the scope parquet, in the order queries select them; the rest come from the rows.
SCOPE_COLUMNS = {"ls_index": "number", "x": "number", "y": "number", "cluster": "number", "label": "string"}
# The scope table's flag for rows a curator removed (Latent Scope's `deleted`), under a name no input column takes.
REMOVED = "ls_removed"
Query = tuple[str, dict[str, Any]]  # SQL text and the values it binds


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class RowFilter:
    clusters: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    tags_mode: str = "all"  # "all": rows in every tag (AND); "any": rows in at least one
    conditions: tuple[Condition, ...] = ()
    text: str | None = None
    text_mode: str = "literal"  # how text matches: literal substring, whole word or regex (viewer/keyword.py)
    q: str | None = None
    k: int = Limits.default_k
    selection: tuple[int, ...] | None = None
    sort: str = "ls_index"
    descending: bool = False
    include_removed: bool = False  # rows a curator removed are left out unless asked for


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


@dataclass(frozen=True)
class Resolved:
    """What a filter needs from outside SQL: the tag's indices and the semantic top-k (indices, scores)."""

    tag_indices: list[int] | None = None
    semantic: tuple[list[int], list[float]] | None = None


def column_types(meta: dict[str, Any]) -> dict[str, str]:
    """Every filterable column and its type; scope columns win over input columns of the same name."""
    profiles = meta.get("column_metadata", {})
    types = {c: str(profiles.get(c, {}).get("type", "string")) for c in meta.get("columns", [])}
    return {**types, **SCOPE_COLUMNS}


def column_sql(column: str) -> str:
    """A checked column name of the scope's table (alias t): scope columns and input columns side by side."""
    return f"t.{quote(column)}"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def parse_int(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:  # an empty value (`?limit=`) is a mistake to name, not a request for the default
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, got {shown(raw)}") from exc
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
    return value


def parse_page(params: QueryParams, limits: Limits) -> Page:
    return Page(
        offset=parse_int(params, "offset", 0, 0, limits.max_integer),
        limit=parse_int(params, "limit", limits.default_page_size, 1, limits.max_page_size),
    )


def parse_filter(params: QueryParams, types: dict[str, str], limits: Limits) -> RowFilter:
    q = _text(params, "q", limits)
    sort, descending = _sort(params.get("sort"), types, has_score=q is not None)
    text, text_mode = _text(params, "text", limits), _text_mode(params.get("text_mode"))
    if text is not None:
        check_pattern(text, text_mode)
    return RowFilter(
        clusters=tuple(_ints(params.getlist("cluster"), "cluster", limits)),
        tags=tuple(params.getlist("tag")),  # an empty tag= is an invalid id (400), not "no tag"
        tags_mode=_tags_mode(params.get("tags_mode")),
        conditions=tuple(_conditions(params.get("where"), types, limits)),
        text=text,
        text_mode=text_mode,
        q=q,
        k=parse_int(params, "k", limits.default_k, 1, limits.max_k),
        selection=_selection(params, limits),
        sort=sort,
        descending=descending,
        include_removed=parse_bool(params, "include_removed"),
    )


def parse_bool(params: QueryParams, name: str) -> bool:
    raw = params.get(name, "false")
    if raw not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false, got {shown(raw)}")
    return raw == "true"


def _tags_mode(raw: str | None) -> str:
    if raw is None:
        return "all"
    if raw not in TAGS_MODES:
        raise BadRequest(f"tags_mode must be one of {', '.join(TAGS_MODES)}, got {shown(raw)}")
    return raw


def _text_mode(raw: str | None) -> str:
    if raw is None:
        return "literal"
    if raw not in TEXT_MODES:
        raise BadRequest(f"text_mode must be one of {', '.join(TEXT_MODES)}, got {shown(raw)}")
    return raw


def _text(params: QueryParams, name: str, limits: Limits) -> str | None:
    value = params.get(name)
    if value is None or value.strip() == "":
        return None
    if len(value) > limits.max_query_chars:
        raise BadRequest(f"{name} is longer than max_query_chars={limits.max_query_chars}")
    if "\x00" in value:
        raise BadRequest(f"{name} must not contain NUL characters")
    return value


def _ints(values: list[str], name: str, limits: Limits) -> list[int]:
    out = []
    for raw in values:
        try:
            out.append(int(raw))
        except ValueError as exc:
            raise BadRequest(f"{name} must be an integer, got {shown(raw)}") from exc
        if abs(out[-1]) > limits.max_integer:
            raise BadRequest(f"{name} {out[-1]} is out of range")
    return out


def _selection(params: QueryParams, limits: Limits) -> tuple[int, ...] | None:
    for given in params.getlist("selection"):  # as the OpenAPI document says: no spaces, no empty parts
        if not _SELECTION.fullmatch(given):
            raise BadRequest(f"selection is ls_index values joined by commas (selection=4,9), not {shown(given)}")
    raw = params.getlist("ls_index") + [p for v in params.getlist("selection") for p in v.split(",") if p]
    if not raw and "selection" not in params and "ls_index" not in params:
        return None
    values = _ints([r.strip() for r in raw], "ls_index", limits)
    if len(values) > limits.max_selection:
        raise BadRequest(f"a selection may name at most max_selection={limits.max_selection} rows")
    return tuple(values)


def _sort(raw: str | None, types: dict[str, str], has_score: bool) -> tuple[str, bool]:
    if not raw:
        return ("score", True) if has_score else ("ls_index", False)
    descending = raw.startswith("-")
    column = raw[1:] if descending else raw
    if column == "score":
        if not has_score:
            raise BadRequest("sort=score needs a semantic query q=")
        # Highest similarity first is the natural order; '-score' asks for the reverse.
        return "score", not descending
    if column not in types:
        raise BadRequest(f"unknown sort column {shown(column)}; columns: {', '.join(types)}")
    return column, descending


def _conditions(raw: str | None, types: dict[str, str], limits: Limits) -> list[Condition]:
    if raw is None or raw.strip() == "":
        return []
    try:
        items = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest('where must be a JSON list like [{"column": "section", "op": "=", "value": "games"}]') from exc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or len(items) > limits.max_where_conditions:
        raise BadRequest(f"where must be a JSON list of at most {limits.max_where_conditions} conditions")
    return [_condition(item, types, limits.max_in_values) for item in items]


def _condition(item: Any, types: dict[str, str], max_in_values: int) -> Condition:
    if not isinstance(item, dict) or not isinstance(item.get("column"), str) or not isinstance(item.get("op"), str):
        raise BadRequest('each where condition needs "column" and "op" strings (and "value" unless op is is_null)')
    column, op, value = item["column"], item["op"], item.get("value")
    if column not in types:
        raise BadRequest(f"unknown column {shown(column)} in where; columns: {', '.join(types)}")
    if op not in OPS:
        raise BadRequest(f"unknown op {shown(op)} in where; ops: {', '.join(OPS)}")
    kind = types[column]
    if op in ("is_null", "not_null"):
        return Condition(column, op)
    if op == "contains":
        if not isinstance(value, str) or not value:
            raise BadRequest(f"op contains on {column!r} needs a non-empty string value")
        return Condition(column, op, value)
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > max_in_values:
            raise BadRequest(f"op in on {column!r} needs a non-empty list value (at most {max_in_values:,} items)")
        return Condition(column, op, [_scalar(column, kind, v) for v in value])
    return Condition(column, op, _scalar(column, kind, value))


def _scalar(column: str, kind: str, value: Any) -> Any:
    ok = {
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
        "date": isinstance(value, str),
    }.get(kind, isinstance(value, str))
    if not ok:
        want = {"number": "a number", "boolean": "true or false", "date": "an ISO date string"}.get(kind, "a string")
        raise BadRequest(f"column {column!r} holds {kind} values: give {want}, not {shown(value)}")
    return value


def where_sql(f: RowFilter, resolved: Resolved, text_column: str) -> Query:
    """The WHERE clause (without the keyword) for a filter, and the values it binds."""
    params: dict[str, Any] = {}
    parts = ["TRUE" if f.include_removed else f"NOT t.{REMOVED}"]
    if f.clusters:
        params["clusters"] = list(f.clusters)
        parts.append("t.cluster IN (SELECT unnest($clusters::BIGINT[]))")
    if resolved.tag_indices is not None:
        params["tag_indices"] = resolved.tag_indices
        parts.append("t.ls_index IN (SELECT unnest($tag_indices::BIGINT[]))")
    if f.selection is not None:
        params["selection"] = list(f.selection)
        parts.append("t.ls_index IN (SELECT unnest($selection::BIGINT[]))")
    if f.text is not None:
        parts.append(text_sql(column_sql(text_column), f.text, f.text_mode, "text", params))
    for n, cond in enumerate(f.conditions):
        parts.append(_condition_sql(cond, f"w{n}", params))
    return " AND ".join(parts), params


def _condition_sql(cond: Condition, name: str, params: dict[str, Any]) -> str:
    col = column_sql(cond.column)
    if cond.op == "is_null":
        return f"{col} IS NULL"
    if cond.op == "not_null":
        return f"{col} IS NOT NULL"
    if cond.op == "contains":
        params[name] = cond.value.lower()
        return f"contains(lower(CAST({col} AS VARCHAR)), ${name})"
    params[name] = cond.value
    if cond.op == "in":  # a list test per row: cheaper than a join against the unnested values
        return f"list_contains(${name}, {col})"
    return f"{col} {COMPARE[cond.op]} ${name}"


def order_sql(f: RowFilter) -> str:
    direction = "DESC" if f.descending else "ASC"
    first = "sem.score" if f.sort == "score" else column_sql(f.sort)
    return f"{first} {direction} NULLS LAST, t.ls_index ASC"
