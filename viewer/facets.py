"""Facets: what the rows under the current filters hold, one chart per column, as Embedding Atlas and Datasette show.

A facet request names its columns; each becomes a `kind` of chart (category counts, a number or date histogram, two
boolean bars). Each chart counts the rows under every filter but those on its own column, so it keeps showing the
alternatives to what was picked there (cross-filtering). The dataset's tags (column `ls_tags`) and the scope's
clusters (`cluster`) are facets too. The counting is in viewer/facet_queries.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from viewer.errors import BadRequest, shown
from viewer.filters import RowFilter, column_types, parse_int
from viewer.settings import Limits

TAGS_FACET = "ls_tags"  # the dataset's tags as one facet (a name no input column takes, like ls_index)
KINDS = {"number": "number", "date": "date", "boolean": "boolean"}  # meta.json's type -> chart; else "category"
RANKS = ("count", "lift")
BASELINES = ("none", "scope")
FACET_KEYS = ("column", "limit", "bins", "baseline", "rank", "min_count")
DEFAULT_LIMIT = 20  # category values listed when a request gives no limit
DEFAULT_BINS = 30  # most bins of a histogram when a request gives no bins
DEFAULT_MIN_COUNT = 3  # fewest rows a value needs to be ranked by lift (a value seen once has a huge, empty lift)
MAX_DEFAULT_COLUMNS = 6
# Columns the scope adds that make poor default charts (positions, row numbers); a reader may still pick them.
NOT_BY_DEFAULT = ("ls_index", "x", "y", "label")


@dataclass(frozen=True)
class FacetRequest:
    columns: tuple[str, ...]
    limit: int = DEFAULT_LIMIT
    bins: int = DEFAULT_BINS
    baseline: bool = False  # every bucket also carries the scope-wide count
    rank: str = "count"  # category values by count, or by lift over the scope (needs the baseline)
    min_count: int = DEFAULT_MIN_COUNT


def facet_kinds(meta: dict[str, Any]) -> dict[str, str]:
    """Every column a facet may show, with its chart: input columns by meta.json's type (lists have none), the
    scope's columns, cluster ids as categories, and the tags."""
    kinds = {}
    for column, kind in column_types(meta).items():
        if kind != "object":
            kinds[column] = KINDS.get(kind, "category")
    return {**kinds, "cluster": "category", TAGS_FACET: "category"}


def default_columns(meta: dict[str, Any], has_tags: bool) -> list[str]:
    """Charts worth a first look: clusters, tags, dates, then booleans, categories (few distinct values, and not one
    per row as an id has) and numbers that vary, in the dataset's column order; never the text itself."""
    profiles = meta.get("column_metadata", {})
    text = meta.get("text_column")
    rows = int(meta.get("length") or 0)

    def varied(column: str) -> bool:
        return (profiles.get(column, {}).get("unique_values_count") or 0) >= 2

    def grouping(column: str) -> bool:  # its values group rows: fewer distinct values than half the rows
        profile = profiles.get(column, {})
        return "categories" in profile and (profile.get("unique_values_count") or 0) * 2 <= max(rows, 2)

    columns = [c for c in meta.get("columns", []) if c != text and c not in NOT_BY_DEFAULT and varied(c)]
    kinds = facet_kinds(meta)
    picked = ["cluster", *([TAGS_FACET] if has_tags else [])]
    picked += [c for c in columns if kinds.get(c) == "date"]
    picked += [c for c in columns if kinds.get(c) == "boolean"]
    picked += [c for c in columns if kinds.get(c) == "category" and grouping(c)]
    picked += [c for c in columns if kinds.get(c) == "number"]
    return list(dict.fromkeys(picked))[:MAX_DEFAULT_COLUMNS]


def parse_facets(params: QueryParams, meta: dict[str, Any], has_tags: bool, limits: Limits) -> FacetRequest:
    kinds = facet_kinds(meta)
    columns = list(dict.fromkeys(params.getlist("column"))) or default_columns(meta, has_tags)
    if len(columns) > limits.max_facet_columns:
        raise BadRequest(f"ask for at most max_facet_columns={limits.max_facet_columns} facet columns at once")
    for column in columns:
        if column not in kinds:
            lists = column in column_types(meta)
            why = "holds lists, which have no chart" if lists else "is not a column of this dataset"
            raise BadRequest(f"facet column {shown(column)} {why}; columns: {', '.join(kinds)}")
    rank = _choice(params, "rank", RANKS)
    return FacetRequest(
        columns=tuple(columns),
        limit=parse_int(params, "limit", min(DEFAULT_LIMIT, limits.max_facet_buckets), 1, limits.max_facet_buckets),
        bins=parse_int(params, "bins", min(DEFAULT_BINS, limits.max_facet_buckets), 2, limits.max_facet_buckets),
        # Lift is a ratio to the scope's share: ranking by it needs the scope-wide counts anyway.
        baseline=_choice(params, "baseline", BASELINES) == "scope" or rank == "lift",
        rank=rank,
        min_count=parse_int(params, "min_count", DEFAULT_MIN_COUNT, 1, limits.max_integer),
    )


def without_column(f: RowFilter, column: str) -> RowFilter:
    """The filter a facet of `column` counts under: every filter but those on that column (cross-filtering)."""
    conditions = tuple(c for c in f.conditions if c.column != column)
    if column == "cluster":
        return dataclasses.replace(f, clusters=(), conditions=conditions)
    if column == TAGS_FACET:
        return dataclasses.replace(f, tags=())
    return dataclasses.replace(f, conditions=conditions)


def scope_filter(f: RowFilter) -> RowFilter:
    """The baseline's filter: the whole scope as the map shows it (rows a curator removed only when f keeps them)."""
    return RowFilter(include_removed=f.include_removed)


def _choice(params: QueryParams, name: str, allowed: tuple[str, ...]) -> str:
    raw = params.get(name, allowed[0])
    if raw not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}, got {shown(raw)}")
    return raw
