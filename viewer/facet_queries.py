"""The counts behind the facets route: each chart under every filter but its own column's (viewer/facets.py), and
the scope-wide counts beside them when a baseline is asked for.

Every filter is evaluated once per request, as a mask of rows (viewer/facet_masks.py), and each chart counts its
column's per-row codes, kept per scope table (viewer/facet_columns.py), at the rows of every filter but its own:
one gather and bincount a chart instead of a scan, grouping and filtering of the table per chart. What depends on
the scope alone (a column's extent, a chart's scope-wide counts) is kept too: keys start with the table's name,
which changes with the scope's files, so nothing kept can go stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from viewer.db import ScopeSource
from viewer.facet_columns import Coded, Run, Table
from viewer.facet_masks import Filtered, Masks, masks
from viewer.facets import TAGS_FACET, FacetRequest
from viewer.filters import Resolved, RowFilter, column_sql, where_sql
from viewer.histogram import Bins, date_bins, number_bins
from viewer.kept import Kept

INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
KEPT = Kept()
KEYWORD_MATCHES = Kept(size=8)  # the rows of a keyword: up to a million ls_index each
SCOPE_COUNTS = Kept(size=64)  # a chart's scope-wide counts: one number a bucket (a category's value)


@dataclass(frozen=True)
class Scope:
    """One request's view of a scope: how to run a query, the table, its filter and the tags."""

    run_query: Run
    table: str
    src: ScopeSource
    f: RowFilter
    resolved: Resolved
    kinds: dict[str, str]
    tags: dict[str, np.ndarray]


def facets(scope: Scope, request: FacetRequest) -> dict[str, Any]:
    table = Table(scope.run_query, scope.table)
    coded = {column: _coded(scope, table, column, request.bins) for column in request.columns}
    found = masks(table, Filtered(scope.f, scope.resolved, scope.src.text_column, _keyword_rows(scope)), coded)
    charts = []
    for column in request.columns:
        chart = _chart(scope, table, column, coded[column], found, request)
        charts.append({"column": column, "type": scope.kinds[column], **chart})
    return {"total": len(found.positions(None)), "facets": charts}


def _coded(scope: Scope, table: Table, column: str, max_bins: int) -> Coded | None:
    """The column's per-row codes: none for the tags (rows name them) or a histogram of no value at all."""
    kind = scope.kinds[column]
    if column == TAGS_FACET:
        return None
    if kind in ("category", "boolean"):
        return table.values(column)
    bins = _bins(scope, column, kind, max_bins)
    return None if bins is None else table.bins(column, bins)


def _keyword_rows(scope: Scope) -> np.ndarray | None:
    """The keyword filter's rows, found once for every chart of the request (a regex over long texts costs far more
    than a chart's count), and kept for the next requests with the same keyword: brushing and clicking change the
    other filters, rarely the keyword."""
    f = scope.f
    if f.text is None:
        return None

    def find() -> np.ndarray:
        keyword = RowFilter(text=f.text, text_mode=f.text_mode, include_removed=True)
        where, params = where_sql(keyword, Resolved(), scope.src.text_column)
        return scope.run_query(f"SELECT t.ls_index FROM {scope.table} t WHERE {where}", params, None)[0].to_numpy()

    return KEYWORD_MATCHES.get((scope.table, f.text, f.text_mode), find)


def _chart(
    scope: Scope, table: Table, column: str, coded: Coded | None, found: Masks, request: FacetRequest
) -> dict[str, Any]:
    kind = scope.kinds[column]
    if column == TAGS_FACET:
        return _tags(scope, table, found.but(column), _in_scope(scope, table) if request.baseline else None, request)
    if coded is None:  # a histogram of no value at all: every row is a null
        nulls = len(found.positions(column))
        return {"buckets": [], "other": 0, "nulls": nulls, "total": nulls, "interval": None}
    counts = coded.counts(found.positions(column))
    scope_counts = _scope_counts(scope, table, coded) if request.baseline else None
    if kind == "category":
        return _category(coded, counts, scope_counts, request)
    if kind == "boolean":
        return _boolean(coded, counts, scope_counts)
    bins = _bins(scope, column, kind, request.bins)
    assert bins is not None  # the codes were made from these bins
    return _histogram(bins, kind, coded, counts, scope_counts)


def _in_scope(scope: Scope, table: Table) -> np.ndarray:
    """The whole scope as the map shows it (rows a curator removed only when the filter keeps them), as a mask."""
    return np.ones(table.rows, dtype=bool) if scope.f.include_removed else ~table.removed()


def _scope_counts(scope: Scope, table: Table, coded: Coded) -> np.ndarray:
    """A chart's counts over the whole scope, kept with its codes."""

    def compute() -> np.ndarray:
        return coded.counts(None if scope.f.include_removed else np.flatnonzero(~table.removed()))

    return SCOPE_COUNTS.get((coded.key, scope.f.include_removed), compute)


def _category(
    coded: Coded, counts: np.ndarray, scope_counts: np.ndarray | None, request: FacetRequest
) -> dict[str, Any]:
    """The top `limit` values by count (ties by value), or by lift over the scope among those of at least
    min_count rows (ties by count, then value)."""
    per_value = counts[: coded.other]
    if request.rank == "lift":
        assert scope_counts is not None  # lift asks for the baseline
        listed = np.flatnonzero(per_value >= request.min_count)
        lift = per_value[listed] / scope_counts[listed]  # a row counted here is in the scope: never 0 / 0
        listed = listed[np.lexsort((listed, -per_value[listed], -lift))][: request.limit]
    else:
        listed = _top(per_value, request.limit)
    assert coded.values is not None
    buckets = [{"value": coded.values[int(i)].as_py(), "count": int(per_value[i])} for i in listed]
    total, nulls = int(counts.sum()), int(counts[coded.null])
    chart = {"buckets": buckets, "other": total - nulls - sum(b["count"] for b in buckets), "nulls": nulls}
    if scope_counts is None:
        return {**chart, "total": total}
    return {**chart, "total": total, **_against_scope(buckets, scope_counts[listed], total, coded, scope_counts)}


def _top(counts: np.ndarray, limit: int) -> np.ndarray:
    """The codes of the `limit` largest non-zero counts, largest first, ties by code (DuckDB's order of values)."""
    present = np.flatnonzero(counts)
    if len(present) > limit:  # only counts reaching the limit-th largest can be listed
        cut = np.partition(counts[present], len(present) - limit)[len(present) - limit]
        present = present[counts[present] >= cut]
    return present[np.lexsort((present, -counts[present]))][:limit]


def _boolean(coded: Coded, counts: np.ndarray, scope_counts: np.ndarray | None) -> dict[str, Any]:
    assert coded.values is not None
    code = {value: i for i, value in enumerate(coded.values.to_pylist())}
    listed = [code.get(value) for value in (True, False)]

    def found(per_code: np.ndarray) -> np.ndarray:
        return np.array([0 if i is None else int(per_code[i]) for i in listed], dtype=np.int64)

    buckets = [{"value": v, "count": int(n)} for v, n in zip((True, False), found(counts), strict=True)]
    total = int(counts.sum())
    chart = {"buckets": buckets, "other": 0, "nulls": int(counts[coded.null]), "total": total}
    if scope_counts is None:
        return chart
    return {**chart, **_against_scope(buckets, found(scope_counts), total, coded, scope_counts)}


def _histogram(
    bins: Bins, kind: str, coded: Coded, counts: np.ndarray, scope_counts: np.ndarray | None
) -> dict[str, Any]:
    ranges = bins.ranges(kind)
    buckets = [{"start": s, "end": e, "count": int(counts[i])} for i, (s, e) in enumerate(ranges)]
    total = int(counts.sum())
    chart = {
        "buckets": buckets,
        "other": int(counts[coded.other]),
        "nulls": int(counts[coded.null]),
        "total": total,
        "interval": bins.interval,
    }
    if scope_counts is None:
        return chart
    return {**chart, **_against_scope(buckets, scope_counts[: bins.count], total, coded, scope_counts)}


def _against_scope(
    buckets: list[dict[str, Any]], listed: np.ndarray, total: int, coded: Coded, scope_counts: np.ndarray
) -> dict[str, Any]:
    """Each bucket's scope-wide count and lift (its share here over its share in the scope), and the scope's
    totals for the chart."""
    scope_total, scope_nulls = int(scope_counts.sum()), int(scope_counts[coded.null])
    for bucket, scope_count in zip(buckets, listed, strict=True):
        bucket["scope_count"] = int(scope_count)
        bucket["lift"] = _lift(bucket["count"], total, bucket["scope_count"], scope_total)
    other = scope_total - scope_nulls - int(np.sum(listed))
    return {"scope": {"total": scope_total, "other": other, "nulls": scope_nulls}}


def _lift(count: int, total: int, scope_count: int, scope_total: int) -> float | None:
    if not (total and scope_count and scope_total):
        return None
    return round((count / total) / (scope_count / scope_total), 6)


def _bins(scope: Scope, column: str, kind: str, max_bins: int) -> Bins | None:
    """The column's bins over its whole extent in the scope table (all rows, removed ones too: bins never move)."""
    col = column_sql(column)

    def extent() -> tuple[float | None, float | None, bool]:
        value = f"epoch({col})" if kind == "date" else f"CAST({col} AS DOUBLE)"
        sql = (
            f"SELECT min({value}) AS lo, max({value}) AS hi, typeof(any_value({col})) AS type "
            f"FROM {scope.table} t WHERE isfinite({value})"
        )
        row = scope.run_query(sql, {}, None).to_pylist()[0]
        return row["lo"], row["hi"], str(row["type"]) in INTEGER_TYPES

    low, high, integer = KEPT.get((scope.table, "extent", column), extent)
    if low is None or high is None:
        return None
    if kind == "date":
        return date_bins(low, high, max_bins)
    return number_bins(low, high, max_bins, integer)


def _tags(
    scope: Scope, table: Table, rows: np.ndarray, in_scope: np.ndarray | None, request: FacetRequest
) -> dict[str, Any]:
    members = {name: table.positions(indices) for name, indices in scope.tags.items()}
    counts, total, untagged = _tag_counts(members, rows)
    ranked = sorted(((n, name) for name, n in counts.items() if n), key=lambda item: (-item[0], item[1]))
    buckets = [{"value": name, "count": n} for n, name in ranked[: request.limit]]
    chart = {"buckets": buckets, "other": sum(n for n, _ in ranked[request.limit :]), "nulls": untagged}
    if in_scope is None:
        return {**chart, "total": total}
    scope_counts, scope_total, scope_untagged = _tag_counts(members, in_scope)
    for bucket in buckets:
        bucket["scope_count"] = scope_counts[bucket["value"]]
        bucket["lift"] = _lift(bucket["count"], total, bucket["scope_count"], scope_total)
    listed = {b["value"] for b in buckets}
    other = sum(n for name, n in scope_counts.items() if name not in listed)
    return {**chart, "total": total, "scope": {"total": scope_total, "other": other, "nulls": scope_untagged}}


def _tag_counts(members: dict[str, np.ndarray], rows: np.ndarray) -> tuple[dict[str, int], int, int]:
    """Rows of the mask in each tag, all rows of the mask, and those in no tag."""
    tagged = np.zeros(len(rows), dtype=bool)
    for positions in members.values():
        tagged[positions] = True
    counts = {name: int(np.count_nonzero(rows[positions])) for name, positions in members.items()}
    return counts, int(np.count_nonzero(rows)), int(np.count_nonzero(rows & ~tagged))
