"""Histogram bins over a column's whole extent: equal "nice" widths for numbers (1, 2, 2.5 or 5 times a power of ten),
calendar intervals for dates (a second up to a century, aligned to the calendar in UTC). Bins depend on the extent
alone, never on the filters, so a chart's bars stay put while the filters change.

Every bin is half-open, [start, end): a filter `column >= start AND column < end` keeps exactly the rows a bin counted.
The SQL that counts compares each value with the very edges the answer lists (bound as a list), so floating-point
rounding in `(value - start) / step` can never put a row on the other side of an edge than the filter would.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DAY = 86_400
# Fixed-width date intervals in seconds, then calendar ones in months; the first that fits the bins is used.
SECOND_STEPS = [
    (1, "second"),
    (5, "5 seconds"),
    (15, "15 seconds"),
    (30, "30 seconds"),
    (60, "minute"),
    (300, "5 minutes"),
    (900, "15 minutes"),
    (1800, "30 minutes"),
    (3600, "hour"),
    (3 * 3600, "3 hours"),
    (6 * 3600, "6 hours"),
    (12 * 3600, "12 hours"),
    (DAY, "day"),
    (7 * DAY, "week"),
]
MONTH_STEPS = [
    (1, "month"),
    (3, "quarter"),
    (12, "year"),
    (24, "2 years"),
    (60, "5 years"),
    (120, "decade"),
    (240, "20 years"),
    (600, "50 years"),
    (1200, "century"),
]
# 1970-01-05 was a Monday: weeks start on Mondays (ISO 8601).
MONDAY = 4 * DAY
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Bins:
    edges: tuple[float, ...]  # count + 1 edges, ascending; epoch seconds for dates
    interval: str  # what one bin spans, for the reader: "month", "5 minutes", "0.25"
    unit: str = "number"  # the number itself, a date's epoch "seconds", or calendar "months" (counted by day)

    @property
    def count(self) -> int:
        return len(self.edges) - 1

    def bucket_sql(self, value: str, params: dict[str, Any], name: str) -> str:
        """SQL for the bin index of `value` (SQL text of a number, or of a date column of fixed-width bins); outside
        [0, count) when the value lies outside the edges; -1 for NaN and infinities; NULL for NULL. Calendar bins
        have none: see day_sql."""
        assert self.unit != "months", "calendar bins are counted by day (day_sql)"
        x = f"epoch({value})" if self.unit == "seconds" else f"CAST({value} AS DOUBLE)"
        params[f"{name}_edges"] = list(self.edges)
        params[f"{name}_start"], params[f"{name}_step"] = self.edges[0], self.edges[1] - self.edges[0]
        first = f"CAST(floor(({x} - ${name}_start) / ${name}_step) AS BIGINT)"
        # DuckDB lists count from 1: edge i is ${name}_edges[i + 1]. A missing edge (out of range) is NULL: no change.
        return (
            f"(CASE WHEN NOT isfinite({x}) THEN -1 ELSE {first}"
            f" - CASE WHEN {x} < ${name}_edges[{first} + 1] THEN 1 ELSE 0 END"
            f" + CASE WHEN {x} >= ${name}_edges[{first} + 2] THEN 1 ELSE 0 END END)"
        )

    @staticmethod
    def day_sql(value: str) -> str:
        """SQL for a date's day number since 1970-01-01 (UTC). Calendar bins start at midnight UTC, so counts per day
        fall into bins exactly; DuckDB's year() and month() of a time with a zone go through ICU's calendar, several
        times slower than this arithmetic."""
        return f"CAST(floor(epoch({value}) / {DAY}) AS BIGINT)"

    def bins_of_days(self, days: np.ndarray) -> np.ndarray:
        """Each day number's bin index (outside [0, count) when outside the edges)."""
        edge_days = np.asarray(self.edges, dtype=np.float64) / DAY
        found = np.searchsorted(edge_days, days, side="right") - 1
        return np.where(days >= edge_days[-1], self.count, found)

    def ranges(self, kind: str) -> list[tuple[Any, Any]]:
        """Each bin's (start, end) as the answer gives them: numbers, or ISO 8601 times in UTC for dates."""
        shown = [iso(e) for e in self.edges] if kind == "date" else [_number(e) for e in self.edges]
        return list(zip(shown[:-1], shown[1:], strict=True))


def number_bins(low: float, high: float, max_bins: int, integer: bool) -> Bins:
    """At most max_bins bins of a nice width covering [low, high]; integer columns get integer widths."""
    span = high - low
    step = _nice_at_least(span / max(1, max_bins - 1) if span > 0 else (1.0 if integer else abs(low) / 10 or 1.0))
    if integer:
        step = max(1.0, math.ceil(step))
    while True:
        start = math.floor(low / step) * step
        count = math.floor((high - start) / step) + 1
        if count <= max_bins:
            break
        step = _nice_at_least(step * 1.0001)
    # Edges rounded to 12 digits read as typed (0.3, not 0.30000000000000004); the SQL compares with these very edges.
    return Bins(tuple(float(f"{start + i * step:.12g}") for i in range(count + 1)), str(_number(step)))


def date_bins(low: float, high: float, max_bins: int) -> Bins:
    """Calendar-aligned bins (epoch seconds, UTC) of the shortest interval that covers [low, high] in max_bins."""
    for seconds, label in SECOND_STEPS:
        offset = MONDAY if label == "week" else 0
        start = math.floor((low - offset) / seconds) * seconds + offset
        count = math.floor((high - start) / seconds) + 1
        if count <= max_bins:
            return Bins(tuple(float(start + i * seconds) for i in range(count + 1)), label, "seconds")
    first, last = _month_of(low), _month_of(high)
    for months, label in MONTH_STEPS:
        start = first // months * months
        count = (last - start) // months + 1
        if count <= max_bins or months == MONTH_STEPS[-1][0]:
            numbers = tuple(start + i * months for i in range(count + 1))
            return Bins(tuple(_month_start(m) for m in numbers), label, "months")
    raise AssertionError("unreachable: the last interval always fits")


def iso(seconds: float) -> str:
    return (EPOCH + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _nice_at_least(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least value."""
    exponent = math.floor(math.log10(value))
    for base in (1, 2, 2.5, 5, 10):
        step = base * 10.0**exponent
        if step >= value * (1 - 1e-12):
            return step
    return 10.0 ** (exponent + 1)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _month_of(seconds: float) -> int:
    moment = EPOCH + dt.timedelta(seconds=seconds)
    return moment.year * 12 + moment.month - 1


def _month_start(month: int) -> float:
    return (dt.datetime(month // 12, month % 12 + 1, 1, tzinfo=dt.UTC) - EPOCH).total_seconds()
