"""The viewer's pure parts: filter parsing into bound SQL, exact top-k, error scrubbing, settings from the env."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from starlette.datastructures import QueryParams

from ls_pipeline.errors import UserError
from viewer.errors import BadRequest, scrub
from viewer.filters import Resolved, column_types, parse_filter, where_sql
from viewer.search import top_k
from viewer.settings import Limits, config_from_env

META = {
    "columns": ["package", "section", "size", "text"],
    "column_metadata": {"package": {"type": "string"}, "size": {"type": "number"}, "section": {"type": "string"}},
}
TYPES = column_types(META)


def test_values_are_bound_never_written_into_sql() -> None:
    evil = "x'); DROP TABLE t; --"
    conditions = [
        {"column": "section", "op": "=", "value": evil},
        {"column": "package", "op": "in", "value": [evil, "b"]},
        {"column": "size", "op": ">=", "value": 10},
        {"column": "text", "op": "contains", "value": evil.upper()},
    ]
    params = QueryParams({"where": json.dumps(conditions), "text": evil, "cluster": "3"})
    f = parse_filter(params, TYPES, Limits())
    sql, bound = where_sql(f, Resolved(), "text")  # the builder returns the values it binds
    assert evil not in sql and "DROP" not in sql
    assert bound["w0"] == evil and bound["w1"] == [evil, "b"] and bound["w2"] == 10
    assert bound["w3"] == evil.lower() and bound["text"] == evil.lower()
    assert bound["clusters"] == [3]


def test_a_quote_in_a_column_name_cannot_escape_the_identifier() -> None:
    types = column_types({"columns": ['we"ird'], "column_metadata": {}})
    f = parse_filter(QueryParams({"where": json.dumps([{"column": 'we"ird', "op": "is_null"}])}), types, Limits())
    assert where_sql(f, Resolved(), "text")[0].endswith('t."we""ird" IS NULL')


@pytest.mark.parametrize(
    "params",
    [
        {"where": json.dumps([{"column": "size", "op": "=", "value": "ten"}])},
        {"where": json.dumps([{"column": "size", "op": "=", "value": True}])},
        {"where": json.dumps([{"column": "section", "op": "in", "value": []}])},
        {"where": json.dumps({"column": "nope", "op": "="})},
        {"sort": "-nope"},
        {"k": "0"},
        {"selection": "1,2,x"},
    ],
)
def test_bad_filters_raise_bad_request(params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        parse_filter(QueryParams(params), TYPES, Limits())


def test_sort_defaults_to_score_with_a_query() -> None:
    f = parse_filter(QueryParams({"q": "games"}), TYPES, Limits())
    assert (f.sort, f.descending) == ("score", True)
    f = parse_filter(QueryParams({"q": "games", "sort": "-score"}), TYPES, Limits())
    assert (f.sort, f.descending) == ("score", False)


def test_top_k_is_exact_and_deterministic() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(5000).astype(np.float32)
    scores[[10, 20, 30]] = 2.0  # a three-way tie at the top: lower ls_index first
    found = top_k(scores, 50)
    assert found.indices[:3].tolist() == [10, 20, 30]
    assert found.indices.tolist() == np.lexsort((np.arange(5000), -scores))[:50].tolist()
    assert len(top_k(scores[:7], 100).indices) == 7


def test_scrub_removes_paths_and_keeps_api_urls() -> None:
    text = 'IO Error: cannot open "/srv/data/ds/input.parquet"; see /api/datasets\nTraceback...'
    assert scrub(text) == 'IO Error: cannot open "<path>"; see /api/datasets'


def test_settings_from_env() -> None:
    config = config_from_env({"LATENT_SCOPE_MAX_PAGE_SIZE": "20", "LATENT_SCOPE_APP_MODE": "hosted"})
    assert config.mode == "hosted" and config.limits.max_page_size == 20 and config.limits.max_k == 1000
    with pytest.raises(UserError, match="LATENT_SCOPE_PUBLIC_SCOPE"):
        config_from_env({"LATENT_SCOPE_APP_MODE": "single_profile", "LATENT_SCOPE_PUBLIC_DATASET": "a"})
    with pytest.raises(UserError, match="studio, hosted, single_profile"):
        config_from_env({"LATENT_SCOPE_APP_MODE": "public"})
    with pytest.raises(UserError, match="integer"):
        config_from_env({"LATENT_SCOPE_MAX_K": "lots"})


def test_a_query_past_the_time_limit_is_interrupted() -> None:
    import time

    import duckdb

    from viewer.db import Database

    store = Database(time_limit_ms=150)
    started = time.monotonic()
    with pytest.raises(duckdb.InterruptException):
        store.table("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = $m", {"m": 3})
    assert time.monotonic() - started < 5
    assert store.scalar("SELECT 40 + $n", {"n": 2}) == 42  # the database is still usable afterwards


def test_the_watchdog_calls_only_what_is_still_armed_in_deadline_order() -> None:
    import threading

    from viewer.watchdog import Watchdog

    watchdog, called, done = Watchdog(), [], threading.Event()
    late = watchdog.arm(0.3, lambda: called.append("late"))
    watchdog.arm(0.5, lambda: (called.append("last"), done.set()))
    watchdog.arm(0.05, lambda: called.append("early"))  # armed after, due before: wakes the sleeping thread
    cancelled = watchdog.arm(0.1, lambda: called.append("cancelled"))
    watchdog.disarm(cancelled)
    watchdog.arm(0.2, lambda: 1 / 0)  # a failing callback does not stop the thread
    assert done.wait(5)
    assert called == ["early", "late", "last"]
    watchdog.disarm(late)  # already called: harmless


def test_concurrent_queries_share_one_model_and_match_single_embeddings() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
    from viewer.search import QueryEmbedder

    texts = ["a game to play", "python json parser", "terminal font", "music player", "mail client", "kernel"]
    embedder = QueryEmbedder()
    with ThreadPoolExecutor(6) as pool:
        batched = list(pool.map(lambda t: embedder.embed(DEFAULT_MODEL, t), texts))
    single = load_embedder(DEFAULT_MODEL).embed(texts[:1])[0]
    np.testing.assert_allclose(batched[0], single, atol=1e-5)
    for text, vector in zip(texts, batched, strict=True):
        np.testing.assert_allclose(vector, load_embedder(DEFAULT_MODEL).embed([text])[0], atol=1e-5)


def test_scope_tables_are_cached_and_the_least_recent_dropped(built_data: dict[str, object], tmp_path: Path) -> None:
    import shutil

    from viewer.db import Database, ScopeSource

    ds = Path(str(built_data["root"])) / "sample"
    src = ScopeSource(ds / "scopes" / "scopes-001.parquet", ds / "input.parquet", ("package", "text"), "text")
    shutil.copy(src.scope_path, tmp_path / "scopes-002.parquet")
    other = ScopeSource(tmp_path / "scopes-002.parquet", src.input_path, ("package", "text"), "text")
    store = Database(time_limit_ms=5000, max_cached_scopes=1)
    with store.lease(src) as first, store.lease(src) as again:
        assert again == first  # built once
        assert store.scalar(f"SELECT count(*) FROM {first}", {}) == 300
    with store.lease(other) as second:
        assert second != first and store.scalar(f"SELECT count(*) FROM {second}", {}) == 300
    exists = "SELECT count(*) FROM information_schema.tables WHERE table_name = $name"
    assert store.scalar(exists, {"name": first}) == 0  # over max_cached_scopes: the least recent was dropped


def test_the_prefilter_returns_the_exact_top_k() -> None:
    from viewer.search import PREFILTER_CANDIDATES, EmbeddingIndex

    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(20 * PREFILTER_CANDIDATES, 48)).astype(np.float32)
    matrix[-1, 0] = 1e3  # one dimension's range is set by one row: it must not be clipped away
    exact = EmbeddingIndex(matrix, prefilter_min_rows=len(matrix) + 1)
    filtered = EmbeddingIndex(matrix, prefilter_min_rows=0)
    assert exact.prefilter is None and filtered.prefilter is not None
    assert filtered.top_k(np.eye(48, dtype=np.float32)[0], 1).indices.tolist() == [len(matrix) - 1]
    for q in rng.normal(size=(20, 48)).astype(np.float32):
        want, got = exact.top_k(q, 20), filtered.top_k(q, 20)
        assert got.indices.tolist() == want.indices.tolist()
        np.testing.assert_allclose(got.scores, want.scores, rtol=1e-5)  # rescored in float32, not the 4-bit scores


def test_the_prefilter_takes_odd_dimensions_zero_and_constant_rows_and_large_k() -> None:
    from viewer.search import EmbeddingIndex

    rng = np.random.default_rng(6)
    matrix = rng.normal(size=(3_000, 17)).astype(np.float32)  # odd: the last dimension has no pair
    matrix[:, 3] = 0.25  # a constant dimension
    matrix[5] = 0.0  # a zero vector scores 0 against everything
    exact = EmbeddingIndex(matrix, prefilter_min_rows=len(matrix) + 1)
    filtered = EmbeddingIndex(matrix, prefilter_min_rows=0)
    for q in rng.normal(size=(5, 17)).astype(np.float32):
        for k in (10, 700):  # 700: more candidates (4k) than the default, still fewer than the rows
            want, got = exact.top_k(q, k), filtered.top_k(q, k)
            assert got.indices.tolist() == want.indices.tolist()


def test_the_prefilter_of_fewer_rows_than_candidates_returns_them_all() -> None:
    from viewer.prefilter import Prefilter

    matrix = np.random.default_rng(7).normal(size=(10, 8)).astype(np.float32)
    prefilter = Prefilter(matrix, 1 / np.linalg.norm(matrix, axis=1))
    assert prefilter.candidates(matrix[0] / np.linalg.norm(matrix[0]), 1_024).tolist() == list(range(10))


def test_search_rows_by_rowid_only_from_a_dense_table(built_data: dict[str, object], tmp_path: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from viewer.db import Database, ScopeSource, page_sql
    from viewer.filters import RowFilter

    ds = Path(str(built_data["root"])) / "sample"
    src = ScopeSource(ds / "scopes" / "scopes-001.parquet", ds / "input.parquet", ("package", "text"), "text")
    scope = pq.read_table(src.scope_path)
    pq.write_table(scope.filter(pc.not_equal(scope["ls_index"], 3)), tmp_path / "scopes-002.parquet")
    gapped = ScopeSource(tmp_path / "scopes-002.parquet", src.input_path, ("package", "text"), "text")
    picked = [7, 250, 2, 3, 120]
    resolved = Resolved(semantic=(picked, [0.9, 0.8, 0.7, 0.6, 0.5]))
    f = RowFilter(q="x", k=5, sort="score", descending=True)
    store = Database(time_limit_ms=5000)
    with store.lease(src) as dense, store.lease(gapped) as sparse:
        assert dense.dense and not sparse.dense  # type: ignore[attr-defined]
        assert "rowid" in page_sql(dense, src, f, resolved, None)[0]
        assert "rowid" not in page_sql(sparse, gapped, f, resolved, None)[0]
    rows = store.scope_query(src, lambda name: page_sql(name, src, f, resolved, None))
    assert rows["ls_index"].to_pylist() == picked
    rows = store.scope_query(gapped, lambda name: page_sql(name, gapped, f, resolved, None))
    assert rows["ls_index"].to_pylist() == [7, 250, 2, 120]  # row 3 is not in that scope


def test_search_rows_from_memory_equal_duckdbs(built_data: dict[str, object], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from viewer.db import Database, ScopeSource, page_sql
    from viewer.filters import RowFilter

    ds = Path(str(built_data["root"])) / "sample"
    src = ScopeSource(ds / "scopes" / "scopes-001.parquet", ds / "input.parquet", ("package", "text"), "text")
    scope = pq.read_table(src.scope_path)
    pq.write_table(scope.filter(pc.not_equal(scope["ls_index"], 3)), tmp_path / "gapped.parquet")
    removed = pa.array([i in (7, 120) for i in scope["ls_index"].to_pylist()])
    pq.write_table(scope.append_column("deleted", removed), tmp_path / "removed.parquet")
    sources = [src] + [
        ScopeSource(tmp_path / n, src.input_path, src.input_columns, "text")
        for n in ("gapped.parquet", "removed.parquet")
    ]
    # Equal scores keep the lower ls_index first; 5000 is past the last row.
    picked, scores = np.array([7, 250, 2, 3, 120, 5000, 9]), np.array([0.9, 0.8, 0.8, 0.6, 0.5, 0.4, 0.9], np.float32)
    resolved = Resolved(semantic=(picked.tolist(), [float(s) for s in scores]))  # as the route bound them
    f = RowFilter(q="x", k=7, sort="score", descending=True)
    store = Database(time_limit_ms=5000)
    for source in sources:
        sql = store.scope_query(source, lambda name, s=source: page_sql(name, s, f, resolved, None))
        mine = store.scored_rows(source, picked, scores)
        assert mine.to_pylist() == sql.to_pylist() and mine.schema == sql.schema
    assert [r["ls_index"] for r in mine.to_pylist()] == [9, 2, 250, 3]  # 7 and 120 removed, 5000 absent
