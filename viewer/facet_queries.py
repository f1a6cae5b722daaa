"""The queries behind the facets route: one grouped count per chart over the scope's cached table, each under every
filter but its own column's (viewer/facets.py), and the scope-wide counts beside them when a baseline is asked for.

What depends on the scope alone (a column's extent, a histogram's scope-wide counts, a column's row and null counts)
is kept per scope table: the table's name changes with the scope's files, so nothing kept can go stale.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from viewer.db import ScopeSource, count_sql, from_where
from viewer.facets import TAGS_FACET, FacetRequest, scope_filter, without_column
from viewer.filters import Resolved, RowFilter, column_sql, where_sql
from viewer.histogram import Bins, date_bins, number_bins
from viewer.kept import Kept

# One query, its bound values and the Arrow tables it reads by name -> its rows.
Run = Callable[[str, dict[str, Any], dict[str, pa.Table] | None], pa.Table]
KEYWORD_ROWS = "keyword_rows"
MAX_KEPT_VALUES = 10_000  # a column's scope-wide counts are kept when it has at most this many values
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


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
    relations: dict[str, pa.Table] = field(default_factory=dict)

    def run(self, sql: str, params: dict[str, Any]) -> pa.Table:
        return self.run_query(sql, params, self.relations)

    def body(self, column: str) -> tuple[str, dict[str, Any]]:
        """FROM ... WHERE ... of the rows a facet of `column` counts."""
        resolved = Resolved(None, self.resolved.semantic) if column == TAGS_FACET else self.resolved
        return from_where(self.table, self.src, without_column(self.f, column), resolved)

    def scope_body(self) -> str:
        return from_where(self.table, self.src, scope_filter(self.f), Resolved())[0]


KEPT = Kept()
KEYWORD_MATCHES = Kept(size=8)  # the rows of a keyword: up to a million ls_index each


def facets(scope: Scope, request: FacetRequest) -> dict[str, Any]:
    scope = _keyword_found(scope)
    charts = [facet(scope, column, request) for column in request.columns]
    unfiltered = [c for c, column in zip(charts, request.columns, strict=True) if _own_filter_free(scope.f, column)]
    if unfiltered:  # a chart with no filter of its own counted exactly the filtered rows
        total = unfiltered[0]["total"]
    else:
        sql, params = count_sql(scope.table, scope.src, scope.f, scope.resolved)
        total = int(scope.run(sql, params).column(0)[0].as_py())
    return {"total": total, "facets": charts}


def _keyword_found(scope: Scope) -> Scope:
    """The keyword filter's rows found once for every chart of the request (each chart would scan the texts again;
    a regex over long texts costs far more than a chart's count), and kept for the next requests with the same
    keyword: brushing and clicking change the other filters, rarely the keyword."""
    f = scope.f
    if f.text is None:
        return scope

    def find() -> pa.Table:
        keyword = RowFilter(text=f.text, text_mode=f.text_mode, include_removed=True)
        where, params = where_sql(keyword, Resolved(), scope.src.text_column)
        return scope.run(f"SELECT t.ls_index FROM {scope.table} t WHERE {where}", params)

    rows = KEYWORD_MATCHES.get((scope.table, f.text, f.text_mode), find)
    resolved = dataclasses.replace(scope.resolved, keyword_rows=KEYWORD_ROWS)
    return dataclasses.replace(scope, resolved=resolved, relations={**scope.relations, KEYWORD_ROWS: rows})


def facet(scope: Scope, column: str, request: FacetRequest) -> dict[str, Any]:
    kind = scope.kinds[column]
    if column == TAGS_FACET:
        chart = _tags(scope, request)
    elif kind == "category":
        chart = _category(scope, column, request)
    elif kind == "boolean":
        chart = _boolean(scope, column, request)
    else:
        chart = _histogram(scope, column, kind, request)
    return {"column": column, "type": kind, **chart}


def _own_filter_free(f: RowFilter, column: str) -> bool:
    return without_column(f, column) == f


def _category(scope: Scope, column: str, request: FacetRequest) -> dict[str, Any]:
    body, params = scope.body(column)
    col = column_sql(column)
    distribution = _scope_distribution(scope, column) if request.baseline else None
    if request.rank == "lift":
        params = {**params, "facet_min": request.min_count}
        if distribution is None:
            params["facet_limit"] = request.limit
    else:
        params = {**params, "facet_limit": request.limit}
    if request.rank == "lift" and distribution is not None:
        # Few values: every one kept enough times comes back, and is ranked here against the kept scope counts.
        sql = (
            f"WITH g AS (SELECT {col} AS value, count(*) AS n {body} GROUP BY 1) "
            "SELECT value, n, sum(n) OVER () AS total FROM g QUALIFY value IS NULL OR n >= $facet_min"
        )
        rows = scope.run(sql, params).to_pylist()
        ranked = sorted(
            (r for r in rows if r["value"] is not None),
            key=lambda r: (-r["n"] / max(1, distribution.get(r["value"], 0)), -r["n"], r["value"]),
        )
        rows = ranked[: request.limit] + [r for r in rows if r["value"] is None]
    elif request.rank == "lift":
        # Ranked by count / scope count: the same order as lift, whose two totals are constants.
        sql = (
            f"WITH g AS (SELECT {col} AS value, count(*) AS n {body} GROUP BY 1), "
            f"b AS (SELECT {col} AS value, count(*) AS n {scope.scope_body()} GROUP BY 1) "
            "SELECT g.value, g.n, b.n AS scope_n, sum(g.n) OVER () AS total FROM g LEFT JOIN b ON g.value = b.value "
            "QUALIFY g.value IS NULL OR (g.n >= $facet_min AND row_number() OVER (PARTITION BY g.value IS NULL, "
            "g.n >= $facet_min ORDER BY g.n / b.n DESC, g.n DESC, g.value) <= $facet_limit) "
            "ORDER BY g.value IS NULL, g.n / b.n DESC, g.n DESC, g.value"
        )
        rows = scope.run(sql, params).to_pylist()
    else:
        sql = (
            f"WITH g AS (SELECT {col} AS value, count(*) AS n {body} GROUP BY 1) "
            "SELECT value, n, sum(n) OVER () AS total FROM g QUALIFY value IS NULL OR "
            "row_number() OVER (PARTITION BY value IS NULL ORDER BY n DESC, value) <= $facet_limit "
            "ORDER BY value IS NULL, n DESC, value"
        )
        rows = scope.run(sql, params).to_pylist()
    total = int(rows[0]["total"]) if rows else 0
    nulls = sum(int(r["n"]) for r in rows if r["value"] is None)
    buckets = [{"value": r["value"], "count": int(r["n"])} for r in rows if r["value"] is not None]
    chart = {"buckets": buckets, "other": total - nulls - sum(b["count"] for b in buckets), "nulls": nulls}
    if not request.baseline:
        return {**chart, "total": total}
    if distribution is not None:
        scope_counts = {b["value"]: distribution.get(b["value"], 0) for b in buckets}
    elif request.rank == "lift":
        scope_counts = {r["value"]: int(r["scope_n"] or 0) for r in rows if r["value"] is not None}
    else:
        scope_counts = _scope_counts(scope, column, [b["value"] for b in buckets])
    return {**chart, "total": total, **_against_scope(scope, column, buckets, scope_counts, total)}


def _scope_distribution(scope: Scope, column: str) -> dict[Any, int] | None:
    """Every value's scope-wide count, kept per scope table; None for a column of more than MAX_KEPT_VALUES values
    (their counts are asked for per request instead)."""

    def compute() -> dict[Any, int] | None:
        sql = f"SELECT {column_sql(column)} AS value, count(*) AS n {scope.scope_body()} GROUP BY 1 LIMIT $most"
        rows = scope.run(sql, {"most": MAX_KEPT_VALUES + 1}).to_pylist()
        return None if len(rows) > MAX_KEPT_VALUES else {r["value"]: int(r["n"]) for r in rows}

    return KEPT.get((scope.table, "distribution", column, scope.f.include_removed), compute)


def _scope_counts(scope: Scope, column: str, values: list[Any]) -> dict[Any, int]:
    if not values:
        return {}
    col = column_sql(column)
    listed = f"list_contains($facet_values, {col})"
    sql = f"SELECT {col} AS value, count(*) AS n {scope.scope_body()} AND {listed} GROUP BY 1"
    return {r["value"]: int(r["n"]) for r in scope.run(sql, {"facet_values": values}).to_pylist()}


def _against_scope(
    scope: Scope, column: str, buckets: list[dict[str, Any]], counts: dict[Any, int], total: int
) -> dict[str, Any]:
    """Each bucket's scope-wide count and lift (its share here over its share in the scope), and the scope's
    totals for the chart."""
    scope_total, scope_nulls = _column_totals(scope, column)
    for bucket in buckets:
        bucket["scope_count"] = counts.get(bucket["value"], 0)
        bucket["lift"] = _lift(bucket["count"], total, bucket["scope_count"], scope_total)
    listed = sum(b["scope_count"] for b in buckets)
    return {"scope": {"total": scope_total, "other": scope_total - scope_nulls - listed, "nulls": scope_nulls}}


def _lift(count: int, total: int, scope_count: int, scope_total: int) -> float | None:
    if not (total and scope_count and scope_total):
        return None
    return round((count / total) / (scope_count / scope_total), 6)


def _column_totals(scope: Scope, column: str) -> tuple[int, int]:
    """The scope's row count and the rows where `column` is null."""

    def compute() -> tuple[int, int]:
        col = column_sql(column)
        sql = f"SELECT count(*) AS total, count(*) FILTER (WHERE {col} IS NULL) AS nulls {scope.scope_body()}"
        row = scope.run(sql, {}).to_pylist()[0]
        return int(row["total"]), int(row["nulls"])

    return KEPT.get((scope.table, "totals", column, scope.f.include_removed), compute)


def _boolean(scope: Scope, column: str, request: FacetRequest) -> dict[str, Any]:
    def counts(body: str, params: dict[str, Any]) -> dict[Any, int]:
        sql = f"SELECT {column_sql(column)} AS value, count(*) AS n {body} GROUP BY 1"
        return {r["value"]: int(r["n"]) for r in scope.run(sql, params).to_pylist()}

    found = counts(*scope.body(column))
    buckets = [{"value": v, "count": found.get(v, 0)} for v in (True, False)]
    total = sum(found.values())
    chart = {"buckets": buckets, "other": 0, "nulls": found.get(None, 0), "total": total}
    if not request.baseline:
        return chart
    key = (scope.table, "boolean", column, scope.f.include_removed)
    scope_found = KEPT.get(key, lambda: counts(scope.scope_body(), {}))
    return {**chart, **_against_scope(scope, column, buckets, scope_found, total)}


def _histogram(scope: Scope, column: str, kind: str, request: FacetRequest) -> dict[str, Any]:
    bins = _bins(scope, column, kind, request.bins)
    body, params = scope.body(column)
    if bins is None:  # no value at all: every row is a null
        sql = f"SELECT count(*) AS n {body}"
        nulls = int(scope.run(sql, params).column(0)[0].as_py())
        return {"buckets": [], "other": 0, "nulls": nulls, "total": nulls, "interval": None}
    found = _bin_counts(scope, column, bins, body, params)
    ranges = bins.ranges(kind)
    buckets = [{"start": s, "end": e, "count": found.get(i, 0)} for i, (s, e) in enumerate(ranges)]
    nulls = found.get(None, 0)
    total = sum(found.values())
    chart = {
        "buckets": buckets,
        "other": total - nulls - sum(b["count"] for b in buckets),
        "nulls": nulls,
        "total": total,
        "interval": bins.interval,
    }
    if not request.baseline:
        return chart
    key = (scope.table, "bins", column, bins.edges, scope.f.include_removed)
    scope_found = KEPT.get(key, lambda: _bin_counts(scope, column, bins, scope.scope_body(), {}))
    scope_total = sum(scope_found.values())
    for i, bucket in enumerate(buckets):
        bucket["scope_count"] = scope_found.get(i, 0)
        bucket["lift"] = _lift(bucket["count"], total, bucket["scope_count"], scope_total)
    scope_nulls = scope_found.get(None, 0)
    listed = sum(b["scope_count"] for b in buckets)
    return {**chart, "scope": {"total": scope_total, "other": scope_total - scope_nulls - listed, "nulls": scope_nulls}}


def _bin_counts(scope: Scope, column: str, bins: Bins, body: str, params: dict[str, Any]) -> dict[int | None, int]:
    params = dict(params)
    if bins.unit == "months":
        return _calendar_counts(scope, column, bins, body, params)
    bucket = bins.bucket_sql(column_sql(column), params, "h")
    rows = scope.run(f"SELECT {bucket} AS b, count(*) AS n {body} GROUP BY 1", params).to_pylist()
    return {(None if r["b"] is None else int(r["b"])): int(r["n"]) for r in rows}


def _calendar_counts(scope: Scope, column: str, bins: Bins, body: str, params: dict[str, Any]) -> dict[int | None, int]:
    """Calendar bins (months and longer) from the rows per day."""
    sql = f"SELECT {Bins.day_sql(column_sql(column))} AS d, count(*) AS n {body} GROUP BY 1"
    rows = scope.run(sql, params).to_pylist()
    out: dict[int | None, int] = {}
    known = [r for r in rows if r["d"] is not None]
    if len(known) < len(rows):
        out[None] = sum(int(r["n"]) for r in rows if r["d"] is None)
    days = np.array([r["d"] for r in known], dtype=np.float64)
    for index, count in zip(bins.bins_of_days(days).tolist(), (int(r["n"]) for r in known), strict=True):
        out[index] = out.get(index, 0) + count
    return out


def _bins(scope: Scope, column: str, kind: str, max_bins: int) -> Bins | None:
    """The column's bins over its whole extent in the scope table (all rows, removed ones too: bins never move)."""
    col = column_sql(column)

    def extent() -> tuple[float | None, float | None, bool]:
        value = f"epoch({col})" if kind == "date" else f"CAST({col} AS DOUBLE)"
        sql = (
            f"SELECT min({value}) AS lo, max({value}) AS hi, typeof(any_value({col})) AS type "
            f"FROM {scope.table} t WHERE isfinite({value})"
        )
        row = scope.run(sql, {}).to_pylist()[0]
        return row["lo"], row["hi"], str(row["type"]) in INTEGER_TYPES

    low, high, integer = KEPT.get((scope.table, "extent", column), extent)
    if low is None or high is None:
        return None
    if kind == "date":
        return date_bins(low, high, max_bins)
    return number_bins(low, high, max_bins, integer)


def _tags(scope: Scope, request: FacetRequest) -> dict[str, Any]:
    body, params = scope.body(TAGS_FACET)
    counts, total, untagged = _tag_counts(scope, body, params)
    ranked = sorted(((n, name) for name, n in counts.items() if n), key=lambda item: (-item[0], item[1]))
    buckets = [{"value": name, "count": n} for n, name in ranked[: request.limit]]
    chart = {"buckets": buckets, "other": sum(n for n, _ in ranked[request.limit :]), "nulls": untagged}
    if not request.baseline:
        return {**chart, "total": total}
    scope_counts, scope_total, scope_untagged = _tag_counts(scope, scope.scope_body(), {})
    for bucket in buckets:
        bucket["scope_count"] = scope_counts[bucket["value"]]
        bucket["lift"] = _lift(bucket["count"], total, bucket["scope_count"], scope_total)
    listed = {b["value"] for b in buckets}
    other = sum(n for name, n in scope_counts.items() if name not in listed)
    return {**chart, "total": total, "scope": {"total": scope_total, "other": other, "nulls": scope_untagged}}


def _tag_counts(scope: Scope, body: str, params: dict[str, Any]) -> tuple[dict[str, int], int, int]:
    """Rows under the filter in each tag, all rows under it, and those in no tag."""
    names = [name for name, rows in scope.tags.items() for _ in range(len(rows))]
    members = [int(i) for rows in scope.tags.values() for i in rows]
    sql = (
        f"WITH f AS (SELECT t.ls_index {body}), "
        "m AS (SELECT unnest($tag_names::VARCHAR[]) AS tag, unnest($tag_rows::BIGINT[]) AS ls_index) "
        "SELECT 'tag' AS part, m.tag AS tag, count(*) AS n FROM m JOIN f USING (ls_index) GROUP BY m.tag "
        "UNION ALL SELECT 'all', NULL, count(*) FROM f "
        "UNION ALL SELECT 'none', NULL, count(*) FROM f WHERE NOT ls_index IN (SELECT ls_index FROM m)"
    )
    rows = scope.run(sql, {**params, "tag_names": names, "tag_rows": members}).to_pylist()
    counts = {name: 0 for name in scope.tags}
    counts.update({r["tag"]: int(r["n"]) for r in rows if r["part"] == "tag"})
    total = next(int(r["n"]) for r in rows if r["part"] == "all")
    return counts, total, next(int(r["n"]) for r in rows if r["part"] == "none")
