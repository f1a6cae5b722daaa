"""A scope table's charted columns as one small integer per row, kept between requests, so that a facets request
counts a chart with one numpy bincount over its rows' codes instead of a grouped scan of its own.

Row arrays are indexed by position: the rank of the row's ls_index in the table (its ls_index itself when the table
is dense). A chart's codes come from DuckDB with the very expressions the charts always counted by (a category's
values in DuckDB's order, a histogram's bin_sql or day_sql), so a count over codes is the count a grouped query gives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from viewer.filters import REMOVED, column_sql
from viewer.histogram import Bins
from viewer.kept import Kept

# One query, its bound values and the Arrow tables it reads by name -> its rows.
Run = Callable[[str, dict[str, Any], dict[str, pa.Table] | None], pa.Table]
# Row arrays of the most recent (table, column, bins): two bytes a row for a histogram or a category of up to 65,534
# values (eight for more values, and their values), up to 128 charts of a million rows.
ROW_ARRAYS = Kept(size=1024, max_bytes=256 << 20)
VALUES = "facet_values"  # the relation holding a column's distinct values while a query orders or tests them


@dataclass(frozen=True)
class Coded:
    """A chart's rows as codes: the row at position p counts in bucket codes[p] of `size`; the last two buckets hold
    the rows whose value is in no bucket (OTHER: NaN, infinities) and those without a value (NULL)."""

    codes: np.ndarray
    size: int
    key: Hashable  # what the codes are kept under: the same key, the same codes
    values: pa.Array | None = None  # a category's (or boolean's) value of each code below size - 2, in DuckDB's order

    @property
    def nbytes(self) -> int:
        return self.codes.nbytes + (self.values.nbytes if self.values is not None else 0)

    @property
    def other(self) -> int:
        return self.size - 2

    @property
    def null(self) -> int:
        return self.size - 1

    def counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        """How many of the rows at these positions (or of all rows) fall in each bucket."""
        return np.bincount(self.codes if rows is None else self.codes.take(rows), minlength=self.size)


@dataclass(frozen=True)
class Table:
    """One scope table as the charts see it: its name, how to query it, and its rows' positions."""

    run: Run
    name: str

    @property
    def ls_index(self) -> np.ndarray:
        """Every row's ls_index, ascending: position p holds ls_index[p]."""

        def compute() -> np.ndarray:
            rows = self.run(f"SELECT t.ls_index FROM {self.name} t ORDER BY t.ls_index", {}, None)
            return rows.column(0).to_numpy()

        return ROW_ARRAYS.get((self.name, "ls_index"), compute)

    @property
    def rows(self) -> int:
        return len(self.ls_index)

    def positions(self, ls_index: Any) -> np.ndarray:
        """The positions of the rows with these ls_index values (those the table has, a repeated one as often)."""
        wanted = np.asarray(ls_index, dtype=np.int64)
        if getattr(self.name, "dense", False):
            return wanted[(wanted >= 0) & (wanted < self.rows)]
        found = np.searchsorted(self.ls_index, wanted)
        inside = found < self.rows
        inside[inside] = self.ls_index[found[inside]] == wanted[inside]
        return found[inside]

    def mask(self, ls_index: Any) -> np.ndarray:
        """The rows with these ls_index values, as a mask."""
        return self._mask(self.positions(ls_index))

    def where(self, where: str, params: dict[str, Any]) -> np.ndarray:
        """The rows a WHERE clause over the table (alias t) keeps, as a mask."""
        found = self.run(f"SELECT t.ls_index FROM {self.name} t WHERE {where}", params, None).column(0).to_numpy()
        if getattr(self.name, "dense", False):  # the table's own ls_index: each is its position
            return self._mask(found)
        return self._mask(np.searchsorted(self.ls_index, found))

    def _mask(self, positions: np.ndarray) -> np.ndarray:
        out = np.zeros(self.rows, dtype=bool)
        out[positions] = True
        return out

    def removed(self) -> np.ndarray:
        """The rows a curator removed, as a mask."""
        return ROW_ARRAYS.get((self.name, REMOVED), lambda: self.where(f"t.{REMOVED}", {}))

    def per_row(self, expression: str, params: dict[str, Any]) -> tuple[np.ndarray, pa.ChunkedArray]:
        """An expression's value for every row: the positions and the values, in the same order."""
        rows = self.run(f"SELECT t.ls_index AS i, {expression} AS v FROM {self.name} t", params, None)
        return self.positions(rows["i"].to_numpy()), rows["v"]

    def values(self, column: str) -> Coded:
        """A category's (or boolean's) codes: its distinct values in DuckDB's ORDER BY, so ties broken by code are
        broken as ORDER BY value would."""
        key = (self.name, "values", column)
        return ROW_ARRAYS.get(key, lambda: self._values(column, key))

    def bins(self, column: str, bins: Bins) -> Coded:
        """A histogram's codes: each row's bin over these edges, as bucket_sql (or, for calendar bins, day_sql and
        bins_of_days) puts it."""
        key = (self.name, "bins", column, bins)
        return ROW_ARRAYS.get(key, lambda: self._bins(column, bins, key))

    def _values(self, column: str, key: Hashable) -> Coded:
        positions, values = self.per_row(column_sql(column), {})
        encoded = pc.dictionary_encode(values.combine_chunks())
        distinct = encoded.dictionary
        order = self.run(
            f"SELECT i FROM {VALUES} ORDER BY v, i",
            {},
            {VALUES: pa.table({"v": distinct, "i": pa.array(np.arange(len(distinct)))})},
        )
        order = order.column(0).to_numpy()
        size = len(distinct) + 2
        code_of = np.empty(len(distinct) + 1, dtype=np.int64)
        code_of[order] = np.arange(len(distinct))
        code_of[-1] = size - 1  # no value: the NULL bucket
        indices = pc.fill_null(encoded.indices, len(distinct)).to_numpy()
        codes = _scatter(self.rows, positions, code_of[indices], size)
        return Coded(codes, size, key, distinct.take(pa.array(order)))

    def _bins(self, column: str, bins: Bins, key: Hashable) -> Coded:
        size = bins.count + 2
        if bins.unit == "months":
            positions, days = self.per_row(Bins.day_sql(column_sql(column)), {})
            known = days.is_valid().to_numpy(zero_copy_only=False)
            found = bins.bins_of_days(pc.fill_null(days, 0).to_numpy().astype(np.float64))
        else:
            params: dict[str, Any] = {}
            positions, found_bins = self.per_row(bins.bucket_sql(column_sql(column), params, "h"), params)
            known = found_bins.is_valid().to_numpy(zero_copy_only=False)
            found = pc.fill_null(found_bins, 0).to_numpy()
        codes = np.where((found >= 0) & (found < bins.count), found, size - 2)
        return Coded(_scatter(self.rows, positions, np.where(known, codes, size - 1), size), size, key)


def _scatter(rows: int, positions: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """Codes by position, two bytes each where they fit."""
    out = np.full(rows, size - 1, dtype=np.uint16 if size <= 1 << 16 else np.int64)
    out[positions] = codes
    return out
