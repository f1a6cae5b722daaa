"""DuckDB access: one in-memory database, a cursor per query, every value bound, a time limit per query.

The rows of a scope are input.parquet (row position = ls_index, from DuckDB's file_row_number) joined to the scope's
parquet (x, y, cluster, label). The database is in memory and only ever reads those files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from viewer.errors import BadRequest, scrub
from viewer.filters import SCOPE_COLUMNS, Page, Resolved, RowFilter, order_sql, quote, where_sql

SCOPE_SELECT = "s.ls_index, s.x, s.y, s.cluster, s.label"


class Database:
    def __init__(self, time_limit_ms: int) -> None:
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()  # cursor() on a shared connection is not safe from many threads at once
        self.time_limit_ms = time_limit_ms

    def table(self, sql: str, params: dict[str, Any]) -> pa.Table:
        """Run one query (call from a worker thread); interrupted when it runs past the time limit."""
        with self._lock:
            cursor = self._con.cursor()
        timer = threading.Timer(self.time_limit_ms / 1000, cursor.interrupt)
        timer.start()
        try:
            return cursor.sql(sql, params=params).to_arrow_table()
        except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException) as exc:
            raise BadRequest(f"a filter value does not fit its column: {scrub(str(exc))}") from exc
        finally:
            timer.cancel()
            cursor.close()

    def scalar(self, sql: str, params: dict[str, Any]) -> Any:
        return self.table(sql, params).column(0)[0].as_py()


@dataclass(frozen=True)
class ScopeSource:
    """The files and columns one scope's queries read."""

    scope_path: Path
    input_path: Path
    input_columns: tuple[str, ...]
    text_column: str

    def select_list(self, with_score: bool) -> str:
        extra = ["sem.score"] if with_score else []
        inputs = [f"i.{quote(c)}" for c in self.input_columns if c not in SCOPE_COLUMNS]
        return ", ".join([SCOPE_SELECT, *extra, *inputs])


def from_where(src: ScopeSource, f: RowFilter, resolved: Resolved) -> str:
    """FROM ... WHERE ... for a filtered scope; binds the file paths and every filter value into resolved.params."""
    resolved.params.update(scope_path=str(src.scope_path), input_path=str(src.input_path))
    sql = (
        "FROM read_parquet($scope_path) s "
        "JOIN read_parquet($input_path, file_row_number = true) i ON i.file_row_number = s.ls_index "
    )
    if resolved.semantic is not None:
        resolved.params.update(sem_idx=resolved.semantic[0], sem_score=resolved.semantic[1])
        sql += (
            "JOIN (SELECT unnest($sem_idx::BIGINT[]) AS ls_index, unnest($sem_score::DOUBLE[]) AS score) sem "
            "ON sem.ls_index = s.ls_index "
        )
    return sql + "WHERE " + where_sql(f, resolved, src.text_column)


def count_sql(src: ScopeSource, f: RowFilter, resolved: Resolved) -> str:
    return "SELECT count(*) " + from_where(src, f, resolved)


def page_sql(src: ScopeSource, f: RowFilter, resolved: Resolved, page: Page | None) -> str:
    select = src.select_list(resolved.semantic is not None)
    sql = f"SELECT {select} {from_where(src, f, resolved)} ORDER BY {order_sql(f)}"
    if page is not None:
        resolved.params.update(page_limit=page.limit, page_offset=page.offset)
        sql += " LIMIT $page_limit OFFSET $page_offset"
    return sql


def indices_sql(src: ScopeSource, f: RowFilter, resolved: Resolved) -> str:
    return "SELECT s.ls_index " + from_where(src, f, resolved) + " ORDER BY s.ls_index"


def export_sql(src: ScopeSource, f: RowFilter, resolved: Resolved, tags: dict[str, list[int]]) -> str:
    """The filtered rows with one boolean column per tag, named tag:NAME."""
    columns = [src.select_list(resolved.semantic is not None)]
    for n, (name, indices) in enumerate(sorted(tags.items())):
        resolved.params[f"tag_{n}"] = indices
        columns.append(f"s.ls_index IN (SELECT unnest($tag_{n}::BIGINT[])) AS {quote('tag:' + name)}")
    return f"SELECT {', '.join(columns)} {from_where(src, f, resolved)} ORDER BY {order_sql(f)}"
