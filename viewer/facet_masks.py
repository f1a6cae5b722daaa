"""The rows each chart of a facets request counts, as boolean masks: every filter evaluated once, then combined per
chart as every filter but those on its own column (cross-filtering, viewer/facets.py).

A filter on a charted category (or boolean) column is evaluated over the column's distinct values, not its rows: a
condition on a column depends on that column's value alone, so it holds for a row exactly when it holds for the
row's value, and one code lookup per row replaces a string comparison per row. Filters on any other column are
DuckDB's, with the WHERE clause the rows route uses (viewer/filters.py); filters that name rows (a selection, tags, a
keyword's rows found once, a semantic query's top k) mark their positions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from viewer.facet_columns import VALUES, Coded, Table
from viewer.facets import TAGS_FACET, without_column
from viewer.filters import Resolved, RowFilter, quote, where_sql


@dataclass(frozen=True)
class Filtered:
    """What one facets request filters: the filter, what it resolved outside SQL, and the keyword's rows."""

    f: RowFilter
    resolved: Resolved
    text_column: str
    keyword_rows: np.ndarray | None = None  # the ls_index of the rows the keyword matches, found once for all charts


@dataclass
class Masks:
    rest: np.ndarray  # the rows every filter on no charted column keeps
    own: dict[str, np.ndarray]  # a charted column with filters of its own -> the rows they keep
    _found: dict[str | None, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def but(self, column: str | None) -> np.ndarray:
        """The rows a chart of `column` counts, under every filter but those on its own column (None: under every
        filter), as a mask."""
        return self._of(column)[0]

    def positions(self, column: str | None) -> np.ndarray:
        """The same rows' positions: a chart gathers their codes, far cheaper than indexing the codes by the mask."""
        return self._of(column)[1]

    def _of(self, column: str | None) -> tuple[np.ndarray, np.ndarray]:
        key = column if column in self.own else None  # the charts with no filter of their own share one
        if key not in self._found:
            mask = functools.reduce(np.logical_and, (m for c, m in self.own.items() if c != key), self.rest)
            self._found[key] = mask, np.flatnonzero(mask)
        return self._found[key]


def masks(table: Table, filtered: Filtered, coded: dict[str, Coded | None]) -> Masks:
    """The masks for charts of these columns (a histogram of no value at all has no codes)."""
    f = filtered.f
    own = {c: _own(table, filtered, c, coded[c]) for c in coded if without_column(f, c) != f}
    rest = functools.reduce(without_column, coded, f)
    return Masks(_rest(table, filtered, rest, charted_tags=TAGS_FACET in coded), own)


def _own(table: Table, filtered: Filtered, column: str, coded: Coded | None) -> np.ndarray:
    """The rows a charted column's own filters keep."""
    f = filtered.f
    if column == TAGS_FACET:
        return table.mask(filtered.resolved.tag_indices)
    conditions = tuple(c for c in f.conditions if c.column == column)
    clusters = f.clusters if column == "cluster" else ()
    own = RowFilter(clusters=clusters, conditions=conditions, include_removed=True)
    where, params = where_sql(own, Resolved(), filtered.text_column)
    if coded is None or coded.values is None:
        return table.where(where, params)
    return _holds(table, column, coded, where, params)[coded.codes]


def _holds(table: Table, column: str, coded: Coded, where: str, params: dict[str, Any]) -> np.ndarray:
    """Whether the WHERE clause holds, per code: over the column's distinct values and a null."""
    assert coded.values is not None
    values = pa.concat_arrays([coded.values, pa.nulls(1, coded.values.type)])
    code = column + "#code"  # any name but the column's own
    relation = pa.table({column: values, code: pa.array(np.r_[np.arange(len(coded.values)), coded.null])})
    sql = f"SELECT {quote(code)} FROM {VALUES} t WHERE {where}"
    holds = np.zeros(coded.size, dtype=bool)
    holds[table.run(sql, params, {VALUES: relation}).column(0).to_numpy()] = True
    return holds


def _rest(table: Table, filtered: Filtered, f: RowFilter, charted_tags: bool) -> np.ndarray:
    """The rows every filter on no charted column keeps: removed rows left out unless asked for; rows named by a
    selection, the tags (when their facet is not charted), the keyword and the semantic query; the rest in SQL."""
    rows = np.ones(table.rows, dtype=bool) if f.include_removed else ~table.removed()
    named = [f.selection, filtered.keyword_rows]
    named += [None if charted_tags else filtered.resolved.tag_indices]
    named += [filtered.resolved.semantic[0] if filtered.resolved.semantic is not None else None]
    for ls_index in named:
        if ls_index is not None:
            rows &= table.mask(ls_index)
    values = RowFilter(clusters=f.clusters, conditions=f.conditions, include_removed=True)
    if values != RowFilter(include_removed=True):
        rows &= table.where(*where_sql(values, Resolved(), filtered.text_column))
    return rows
