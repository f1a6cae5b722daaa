"""DuckDB access: one in-memory database, a cursor per query, every value bound, a time limit per query.

The rows of a scope are input.parquet (row position = ls_index, from DuckDB's file_row_number) joined to the scope's
parquet (x, y, cluster, label). That join is materialized once per scope file version as an in-memory DuckDB table
(the most recently used `max_cached_scopes` are kept): reading and joining the parquet files on every request cost
0.4-0.9 s at 100k rows, a query over the table a few milliseconds. Nothing is ever written to the data directory.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ls_pipeline.store.files import Version, version
from ls_pipeline.store.layout import SCOPE_INPUT
from viewer.errors import BadRequest, scrub
from viewer.filters import REMOVED, SCOPE_COLUMNS, Page, Query, Resolved, RowFilter, order_sql, quote, where_sql
from viewer.scored_rows import scored_rows
from viewer.watchdog import WATCHDOG

SCOPE_SELECT = ", ".join(f"t.{c}" for c in SCOPE_COLUMNS)
ScopeVersion = tuple[str, Version, str, Version]


@dataclass(frozen=True)
class ScopeSource:
    """The files and columns one scope's queries read. A scope whose parquet lacks rows' ls_index (or that has no
    parquet: Latent Scope before 0.2) comes as `rows`, its rows completed in memory, and `rows_version`."""

    scope_path: Path
    input_path: Path
    input_columns: tuple[str, ...]
    text_column: str
    rows: Callable[[], pa.Table] | None = field(default=None, compare=False)
    rows_version: Version | None = None

    @property
    def stored_columns(self) -> list[str]:
        # An input column named like a scope column would shadow it: the scope's wins.
        return [c for c in self.input_columns if c not in SCOPE_COLUMNS]

    def select_list(self, with_score: bool) -> str:
        extra = ["sem.score"] if with_score else []
        inputs = [f"t.{quote(c)}" for c in self.stored_columns if not (with_score and c == "score")]
        return ", ".join([SCOPE_SELECT, *extra, *inputs])

    def scored_columns(self) -> list[str]:
        """The column names select_list(with_score=True) gives, in its order."""
        return [*SCOPE_COLUMNS, "score", *(c for c in self.stored_columns if c != "score")]

    def version(self) -> ScopeVersion:
        scope_version = self.rows_version if self.rows is not None else version(self.scope_path)
        return (str(self.scope_path), scope_version, str(self.input_path), version(self.input_path))


class ScopeTable(str):
    """A cached scope table's name, knowing whether its rows hold every ls_index from 0 up, in order: then a row's
    rowid is its ls_index, and fetching a search's k rows by rowid reads those rows instead of scanning the table
    (a hash join on ls_index scans every row, which grows with the scope; docs/performance.md#search)."""

    dense: bool

    def __new__(cls, name: str, dense: bool = False) -> ScopeTable:
        table = super().__new__(cls, name)
        table.dense = dense
        return table


@dataclass
class _Cached:
    name: ScopeTable
    users: int = 0  # requests running a query on this table right now
    rows: pa.Table | None = None  # the table's rows in memory, copied on its first search (viewer/scored_rows.py)
    rows_lock: threading.Lock = field(default_factory=threading.Lock)


class Database:
    def __init__(self, time_limit_ms: int, max_cached_scopes: int = 4, filesystem: Any = None) -> None:
        """`filesystem`: the data directory's fsspec filesystem when it is remote. DuckDB then reads s3:// parquet
        through it (the same client, credentials and fresh listings as the rest of the viewer): DuckDB 2.0 cannot
        load the httpfs extension offline, and this needs nothing downloaded."""
        self._con = duckdb.connect(":memory:")
        # Dates are binned and compared in UTC whatever the server's own time zone (viewer/histogram.py).
        self._con.execute("SET TimeZone = 'UTC'")
        if filesystem is not None:
            self._con.register_filesystem(filesystem)
        self._lock = threading.Lock()  # cursor() on a shared connection is not safe from many threads at once
        self._tables: OrderedDict[ScopeVersion, _Cached] = OrderedDict()
        self._tables_lock = threading.Lock()
        self.time_limit_ms = time_limit_ms
        self.max_cached_scopes = max_cached_scopes

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def table(
        self,
        sql: str,
        params: dict[str, Any],
        time_limit_ms: int | None = None,
        relations: dict[str, pa.Table] | None = None,
    ) -> pa.Table:
        """Run one query (call from a worker thread); interrupted when it runs past the time limit (the database's,
        or `time_limit_ms`). `relations`: Arrow tables the query reads by these names (this query's alone)."""
        cursor = self._cursor()
        for name, relation in (relations or {}).items():
            cursor.register(name, relation)
        limit = WATCHDOG.arm((time_limit_ms or self.time_limit_ms) / 1000, cursor.interrupt)
        try:
            return cursor.sql(sql, params=params).to_arrow_table()
        except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
            raise BadRequest(f"a filter value does not fit its column: {scrub(str(exc))}") from exc
        finally:
            WATCHDOG.disarm(limit)
            cursor.close()

    def scalar(self, sql: str, params: dict[str, Any]) -> Any:
        return self.table(sql, params).column(0)[0].as_py()

    def scope_query(self, src: ScopeSource, query_for: Callable[[str], Query]) -> pa.Table:
        """Run query_for(table name), SQL and its bound values, over the scope's joined rows."""
        with self.lease(src) as name:
            return self.table(*query_for(name))

    def scored_rows(self, src: ScopeSource, indices: np.ndarray, scores: np.ndarray) -> pa.Table:
        """What page_sql gives for a filter of only a semantic query (these matches), from the table's rows copied
        into memory once (on its first search, so scopes never searched cost no memory twice; evicted with it)."""
        with self._leased(src) as entry:
            with entry.rows_lock:  # two first searches would otherwise both copy the table
                if entry.rows is None:
                    entry.rows = self._copy(entry.name)
            return scored_rows(entry.rows, entry.name.dense, src.scored_columns(), indices, scores)

    @contextmanager
    def lease(self, src: ScopeSource) -> Iterator[str]:
        """The name of the in-memory table holding this scope's joined rows, built on first use.

        The table stays until the block ends: eviction skips tables in use, so a request can never find its table
        dropped by another request's eviction between the lookup and the query.
        """
        with self._leased(src) as entry:
            yield entry.name

    @contextmanager
    def _leased(self, src: ScopeSource) -> Iterator[_Cached]:
        key = src.version()
        with self._tables_lock:
            entry = self._tables.get(key)
            if entry is None:
                entry = _Cached(self._build(key, src))
                self._tables[key] = entry
            self._tables.move_to_end(key)
            entry.users += 1
            self._evict()
        try:
            yield entry
        finally:
            with self._tables_lock:
                entry.users -= 1
                self._evict()

    def _build(self, key: ScopeVersion, src: ScopeSource) -> ScopeTable:
        # The name comes from a hash of our own file paths, never from request text.
        name = "scope_" + hashlib.sha1(repr(key).encode()).hexdigest()[:16]
        inputs = ", ".join(f"i.{quote(c)}" for c in src.stored_columns)
        scope_columns = ", ".join(f"s.{c}" for c in SCOPE_COLUMNS)
        rows = src.rows() if src.rows is not None else None
        # Latent Scope's `deleted` (rows a curator removed); scopes never edited have none.
        deleted = "deleted" in rows.column_names if rows is not None else self._has_deleted(src.scope_path)
        removed = "coalesce(s.deleted, false)" if deleted else "false"
        scope_columns += f", {removed} AS {REMOVED}"
        source = f"{name}_rows" if rows is not None else "read_parquet($scope_path)"
        # Latent Scope's scopes-NNN-input.parquet, read where a dataset has no input.parquet, keys rows by `index`
        key = "index" if src.input_path.name.endswith(SCOPE_INPUT) else "file_row_number"
        sql = (
            f"CREATE OR REPLACE TABLE {name} AS SELECT {scope_columns}"
            f"{', ' + inputs if inputs else ''} FROM {source} s "
            f'JOIN read_parquet($input_path, file_row_number = true) i ON i."{key}" = s.ls_index '
            "ORDER BY s.ls_index"
        )
        params = {"input_path": str(src.input_path)} | ({} if rows is not None else {"scope_path": str(src.scope_path)})
        cursor = self._cursor()
        try:
            if rows is not None:
                cursor.register(source, rows)
            cursor.execute(sql, params)
            # Sorted and unique (file_row_number), so dense when the count reaches one past the largest.
            count, top = cursor.execute(f"SELECT count(*), coalesce(max(ls_index), -1) FROM {name}").fetchall()[0]
        finally:
            if rows is not None:
                cursor.unregister(source)
            cursor.close()
        return ScopeTable(name, count == top + 1)

    def _copy(self, name: str) -> pa.Table:
        # Like the table's build, the server's own work and not under a request's time limit (a large scope's copy
        # takes longer than one).
        cursor = self._cursor()
        try:
            return cursor.sql(f"SELECT * FROM {name} ORDER BY ls_index").to_arrow_table().combine_chunks()
        finally:
            cursor.close()

    def _has_deleted(self, scope_path: Path) -> bool:
        cursor = self._cursor()
        try:
            sql = "SELECT count(*) FROM parquet_schema($path) WHERE name = 'deleted'"
            return bool(cursor.execute(sql, {"path": str(scope_path)}).fetchone()[0])  # type: ignore[index]
        finally:
            cursor.close()

    def _evict(self) -> None:
        """Drop the least recently used idle tables beyond max_cached_scopes (call with _tables_lock held).

        While every cached table is in use the cache may stay over the limit; the last release trims it.
        """
        excess = len(self._tables) - self.max_cached_scopes
        idle = [key for key, entry in self._tables.items() if entry.users == 0][: max(0, excess)]
        for key in idle:
            self._drop(self._tables.pop(key).name)

    def _drop(self, name: str) -> None:
        cursor = self._cursor()
        try:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        finally:
            cursor.close()


# Each builder returns its SQL and the values it binds; none changes its arguments, so one Resolved serves a
# count and a page query of the same request.


def from_where(table: str, src: ScopeSource, f: RowFilter, resolved: Resolved) -> Query:
    """FROM ... WHERE ... over a scope's table."""
    sql, params = f"FROM {table} t ", {}
    if resolved.semantic is not None:
        params = {"sem_idx": resolved.semantic[0], "sem_score": resolved.semantic[1]}
        sql += (
            "JOIN (SELECT unnest($sem_idx::BIGINT[]) AS ls_index, unnest($sem_score::DOUBLE[]) AS score) sem "
            "ON sem.ls_index = t.ls_index "
        )
    where, bound = where_sql(f, resolved, src.text_column)
    if resolved.semantic is not None and getattr(table, "dense", False):
        where = "t.rowid = ANY($sem_idx::BIGINT[]) AND " + where
    return sql + "WHERE " + where, {**params, **bound}


def count_sql(table: str, src: ScopeSource, f: RowFilter, resolved: Resolved) -> Query:
    sql, params = from_where(table, src, f, resolved)
    return "SELECT count(*) " + sql, params


def page_sql(table: str, src: ScopeSource, f: RowFilter, resolved: Resolved, page: Page | None) -> Query:
    select = src.select_list(resolved.semantic is not None)
    body, params = from_where(table, src, f, resolved)
    sql = f"SELECT {select} {body} ORDER BY {order_sql(f)}"
    if page is None:
        return sql, params
    return sql + " LIMIT $page_limit OFFSET $page_offset", {
        **params,
        "page_limit": page.limit,
        "page_offset": page.offset,
    }


def indices_sql(table: str, src: ScopeSource, f: RowFilter, resolved: Resolved) -> Query:
    sql, params = from_where(table, src, f, resolved)
    return "SELECT t.ls_index " + sql + " ORDER BY t.ls_index", params


def export_sql(table: str, src: ScopeSource, f: RowFilter, resolved: Resolved, tags: dict[str, list[int]]) -> Query:
    """The filtered rows with one boolean column per tag, named tag:NAME (and ls_removed with include_removed)."""
    columns = [src.select_list(resolved.semantic is not None)] + ([f"t.{REMOVED}"] if f.include_removed else [])
    body, params = from_where(table, src, f, resolved)
    for n, (name, indices) in enumerate(sorted(tags.items())):
        params = {**params, f"tag_{n}": indices}
        columns.append(f"t.ls_index IN (SELECT unnest($tag_{n}::BIGINT[])) AS {quote('tag:' + name)}")
    return f"SELECT {', '.join(columns)} {body} ORDER BY {order_sql(f)}", params
