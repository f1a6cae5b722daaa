"""The map's points as one Arrow IPC stream: ls_index, x, y, cluster (+ color for color_by)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.store.files import Version, read_arrow
from ls_pipeline.store.layout import DELETED
from ls_pipeline.store.scope_rows import read_parts
from viewer.errors import BadRequest, shown
from viewer.filters import parse_bool
from viewer.routes.common import limits, scope_of, work

ARROW = "application/vnd.apache.arrow.stream"
NUMERIC = ("number", "boolean")
MAX_HEADER_BYTES = 8192


async def points(request: Request) -> Response:
    """Arrow IPC stream of every point (but rows a curator removed, unless include_removed=true); color_by=COLUMN
    adds color (float32 value, float64 epoch seconds of a date, or int32 category code)."""
    found = await work(scope_of, request)
    include_removed = parse_bool(request.query_params, "include_removed")
    color_by = request.query_params.get("color_by") or None
    kind = None
    if color_by is not None:
        profiles = found.dataset_meta().get("column_metadata", {})
        if color_by not in found.dataset_meta().get("columns", []):
            raise BadRequest(f"unknown color_by column {shown(color_by)}; columns: {', '.join(profiles)}")
        kind = str(profiles.get(color_by, {}).get("type", "string"))
    body, categories = await work(
        encoded_points,
        found.rows_parts(),
        found.rows_version(),
        found.input_path,
        color_by,
        kind,
        limits(request).max_color_categories,
        include_removed,
    )
    names = json.dumps(categories) if categories is not None else None
    # Many categories with long names (colour by a text column) would make a header no client accepts (http.client
    # and browsers stop at 64 KiB, proxies at 8 KiB): then only the Arrow schema metadata carries them.
    headers = {"x-ls-categories": names} if names is not None and len(names) <= MAX_HEADER_BYTES else {}
    return Response(body, media_type=ARROW, headers=headers)


@lru_cache(maxsize=8)
def encoded_points(
    scope_parts: tuple[Path, ...],
    _version: Version,
    input_path: Path,
    color_by: str | None,
    kind: str | None,
    max_categories: int,
    include_removed: bool = False,
) -> tuple[bytes, list[str] | None]:
    """Cached per scope file version: a map of a million points is read and encoded once, not per client."""
    table = read_parts(scope_parts, columns=["ls_index", "x", "y", "cluster", DELETED])
    if not include_removed and DELETED in table.column_names:
        table = table.filter(pc.invert(pc.fill_null(table.column(DELETED), False)))
    index = table.column("ls_index").cast(pa.int64())
    columns = {
        "ls_index": index.cast(pa.int32()),
        "x": table.column("x").cast(pa.float32()),
        "y": table.column("y").cast(pa.float32()),
        "cluster": table.column("cluster").cast(pa.int32()),
    }
    categories = None
    if color_by is not None:
        values = read_arrow(input_path, columns=[color_by]).column(0).take(index)
        columns["color"], categories = color_column(values, color_by, kind, max_categories)
    out = pa.table(columns)
    if categories is not None:
        out = out.replace_schema_metadata({"x-ls-categories": json.dumps(categories)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, out.schema) as writer:
        writer.write_table(out)
    return sink.getvalue().to_pybytes(), categories


def color_column(
    values: pa.ChunkedArray, column: str, kind: str | None, max_categories: int
) -> tuple[pa.ChunkedArray, list[str] | None]:
    """A number's (or boolean's) value, a date's epoch seconds (colour by time, and the timeline's playback), or
    a category's code; a missing number or date is NaN (an Arrow reader in the browser sees a null's slot as 0)."""
    if kind in NUMERIC and (pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or kind == "boolean"):
        return pc.fill_null(values.cast(pa.float32()), float("nan")), None
    if kind == "date" and pa.types.is_timestamp(values.type):
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[values.type.unit]
        ticks = values.cast(pa.timestamp(values.type.unit)).cast(pa.int64()).cast(pa.float64())
        return pc.fill_null(pc.divide(ticks, float(per_second)), float("nan")), None
    text = values.cast(pa.string())
    encoded = pc.dictionary_encode(text).combine_chunks()
    names = [str(v) for v in encoded.dictionary.to_pylist()]
    if len(names) > max_categories:
        raise BadRequest(
            f"column {column!r} has {len(names)} distinct values, more than max_color_categories={max_categories}; "
            "colour by a column with fewer categories"
        )
    # Codes follow the sorted category names so the legend order is stable; nulls stay null.
    rank = np.empty(len(names), dtype=np.int32)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names), dtype=np.int32)
    codes = pc.take(pa.array(rank), encoded.indices)
    return pa.chunked_array([codes.cast(pa.int32())]), sorted(names)
