"""The facets' per-row codes and masks (viewer/facet_columns.py, viewer/facet_masks.py) against pandas, on a scope
the pipeline never makes but a curator or an import can: rows missing from the scope (its ls_index has gaps), rows a
curator removed, more rows than one DuckDB row group (so scans run in parallel), a category of more values than two
bytes hold, numbers with NaN and infinities, and filters on every charted column at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.datastructures import QueryParams

from viewer import facet_queries
from viewer.db import Database, ScopeSource
from viewer.facets import facet_kinds, parse_facets
from viewer.filters import Resolved, column_types, parse_filter
from viewer.kept import Kept
from viewer.settings import Limits

INPUT_ROWS = 170_000  # more than a DuckDB row group (122,880 rows)
KINDS = ("alpha", "beta", "gamma", "delta")
TYPES = {"text": "string", "key": "string", "kind": "string", "score": "number", "when": "date", "flag": "boolean"}
TAG = "picked"


@pytest.fixture(scope="module")
def scope_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScopeSource, pd.DataFrame, dict[str, Any]]:
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("facet-columns")
    n = INPUT_ROWS
    score = rng.normal(0, 10, n)
    score[rng.random(n) < 0.01] = np.nan
    score[rng.random(n) < 0.005] = np.inf
    seconds = rng.integers(0, 3 * 365 * 86_400, n)
    rows = pd.DataFrame(
        {
            "text": [f"row {i}" for i in range(n)],
            "key": pd.array([f"k{j:05d}" for j in rng.integers(0, 45_000, n)], "string"),
            "kind": pd.array(np.array(KINDS, dtype=object)[rng.integers(0, len(KINDS), n)], "string"),
            "score": score,
            "when": pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s"),
            "flag": pd.array(rng.random(n) < 0.4, "boolean"),
        }
    )
    rows.loc[rng.random(n) < 0.02, "key"] = None
    rows.loc[rng.random(n) < 0.05, "kind"] = None
    rows.loc[rng.random(n) < 0.03, "when"] = None
    rows.loc[rng.random(n) < 0.04, "flag"] = None
    rows.to_parquet(folder / "input.parquet", index=False)
    kept = np.flatnonzero(rng.random(n) < 0.9)  # the scope's rows: ls_index with gaps
    scope = pd.DataFrame(
        {
            "x": rng.random(len(kept)).astype(np.float32),
            "y": rng.random(len(kept)).astype(np.float32),
            "cluster": rng.integers(-1, 25, len(kept)),
            "raw_cluster": 0,
            "label": "",
            "ls_index": kept,
            "deleted": rng.random(len(kept)) < 0.03,
        }
    )
    scope.to_parquet(folder / "scope.parquet", index=False)
    src = ScopeSource(folder / "scope.parquet", folder / "input.parquet", tuple(TYPES), "text")
    expected = rows.iloc[kept].assign(
        ls_index=kept, cluster=scope["cluster"].to_numpy(), removed=scope["deleted"].to_numpy()
    )
    meta = {
        "columns": list(TYPES),
        "text_column": "text",
        "column_metadata": {c: {"type": t} for c, t in TYPES.items()},
    }
    return src, expected.reset_index(drop=True), meta


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    yield Database(time_limit_ms=60_000)


def facets(database: Database, scope_files: tuple[ScopeSource, pd.DataFrame, dict[str, Any]], **params: Any) -> dict:
    src, rows, meta = scope_files
    query = QueryParams([(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])])
    limits = Limits(max_facet_columns=12)
    f = parse_filter(query, column_types(meta), limits)
    tags = {
        TAG: rows["ls_index"].to_numpy()[::50],
        "stale": np.array([INPUT_ROWS + 5, -1]),
    }  # ls_index not in the scope
    resolved = Resolved(tag_indices=tags[TAG].tolist() if f.tags else None)
    with database.lease(src) as table:
        assert not table.dense

        def run(sql: str, bound: dict[str, Any], relations: Any = None) -> Any:
            return database.table(sql, bound, None, relations)

        scope = facet_queries.Scope(run, table, src, f, resolved, facet_kinds(meta), tags)
        return facet_queries.facets(scope, parse_facets(query, meta, True, limits))


def chart(answer: dict[str, Any], column: str) -> dict[str, Any]:
    return next(c for c in answer["facets"] if c["column"] == column)


def top(values: pd.Series, limit: int) -> list[tuple[Any, int]]:
    counts = values.dropna().value_counts()
    return sorted(((v, int(n)) for v, n in counts.items()), key=lambda item: (-item[1], item[0]))[:limit]


def histogram(found: dict[str, Any], values: pd.Series) -> None:
    def edge(x: Any) -> Any:
        return pd.Timestamp(x) if isinstance(x, str) else x

    counts = [int(((values >= edge(b["start"])) & (values < edge(b["end"]))).sum()) for b in found["buckets"]]
    assert [b["count"] for b in found["buckets"]] == counts
    assert found["nulls"] == int(values.isna().sum()) and found["total"] == len(values)
    assert found["other"] == len(values) - found["nulls"] - sum(counts)


def test_every_chart_under_filters_on_every_charted_column(database: Database, scope_files: Any) -> None:
    _, rows, _ = scope_files
    where = [
        {"column": "kind", "op": "in", "value": ["alpha", "gamma"]},
        {"column": "key", "op": "contains", "value": "K1"},  # case-insensitive
        {"column": "score", "op": ">=", "value": -5},
        {"column": "when", "op": "<", "value": "2022-03-01T00:00:00Z"},
        {"column": "flag", "op": "not_null"},
    ]
    columns = ["kind", "key", "score", "when", "flag", "cluster", "ls_tags"]
    answer = facets(database, scope_files, column=columns, where=json.dumps(where), cluster=["3", "4", "-1"], tag=TAG)
    shown = ~rows["removed"]
    masks = {
        "kind": rows["kind"].isin(["alpha", "gamma"]).fillna(False).astype(bool),
        "key": rows["key"].str.lower().str.contains("k1").fillna(False).astype(bool),
        "score": rows["score"] >= -5,  # NaN was written as null: no comparison holds
        "when": rows["when"] < pd.Timestamp("2022-03-01", tz="UTC"),
        "flag": rows["flag"].notna(),
        "cluster": rows["cluster"].isin([3, 4, -1]),
        "ls_tags": rows["ls_index"].isin(rows["ls_index"].to_numpy()[::50]),
    }

    def under(column: str) -> pd.DataFrame:
        keep = shown.copy()
        for other, mask in masks.items():
            if other != column:
                keep &= mask
        return rows[keep]

    assert answer["total"] == len(under("none")) > 0
    for column in ("kind", "key", "cluster"):
        found, values = chart(answer, column), under(column)[column]
        assert [(b["value"], b["count"]) for b in found["buckets"]] == top(values, 20), column
        assert found["nulls"] == int(values.isna().sum()) and found["total"] == len(values)
    for column in ("score", "when"):
        histogram(chart(answer, column), under(column)[column])
    flags = under("flag")["flag"]
    assert [b["count"] for b in chart(answer, "flag")["buckets"]] == [int((flags == v).sum()) for v in (True, False)]
    tagged = under("ls_tags")["ls_index"].isin(rows["ls_index"].to_numpy()[::50])
    assert chart(answer, "ls_tags")["buckets"] == [{"value": TAG, "count": int(tagged.sum())}]  # not the stale tag
    assert chart(answer, "ls_tags")["nulls"] == int((~tagged).sum())


def test_removed_rows_the_baseline_and_lift_without_a_value_reaching_min_count(
    database: Database, scope_files: Any
) -> None:
    _, rows, _ = scope_files
    answer = facets(database, scope_files, column=["key", "score"], include_removed="true", baseline="scope")
    assert answer["total"] == len(rows) and chart(answer, "key")["scope"]["total"] == len(rows)
    histogram(chart(answer, "score"), rows["score"])
    assert chart(answer, "score")["other"] == int(np.isinf(rows["score"]).sum()) > 0  # infinities are in no bin
    # Keys are rare: under a small selection no key reaches min_count, and the chart still counts its rows.
    picked = rows.loc[~rows["removed"], "ls_index"].to_numpy()[:40]
    found = chart(
        facets(database, scope_files, column=["key"], selection=",".join(map(str, picked)), rank="lift"), "key"
    )
    assert found["buckets"] == [] and found["total"] == 40 and found["other"] == 40 - found["nulls"]
    assert found["scope"]["total"] == int((~rows["removed"]).sum())


def test_kept_arrays_stay_within_their_byte_budget() -> None:
    kept = Kept(size=10, max_bytes=250)
    made: list[str] = []

    def array(name: str, size: int) -> np.ndarray:
        def make() -> np.ndarray:
            made.append(name)
            return np.zeros(size, dtype=np.uint8)

        return kept.get(name, make)

    array("a", 100)
    array("b", 100)
    array("a", 100)  # kept: a is now the most recently used
    array("c", 100)  # over 250 bytes: b, the least recently used, goes
    array("a", 100)
    array("b", 100)
    assert made == ["a", "b", "c", "b"]
    array("huge", 1000)  # larger than the budget alone: kept, everything else dropped
    array("huge", 1000)
    array("a", 100)
    assert made == ["a", "b", "c", "b", "huge", "a"]
