"""What every handler needs: the app's services, JSON that never fails on NaN, and the filtered-scope plumbing."""

from __future__ import annotations

import datetime
import functools
import json
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse

from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import version
from ls_pipeline.store.layout import IMPORTED
from ls_pipeline.store.local_copies import CacheTooSmall
from viewer.bodies import body_params, json_body
from viewer.catalog import Catalog, Scope
from viewer.db import Database, ScopeSource
from viewer.errors import BadRequest, NotFound, Unavailable
from viewer.filters import Resolved, RowFilter, column_types, parse_filter
from viewer.search import EmbeddingIndex, Matches, QueryEmbedder, QueryModel, embedding_index
from viewer.settings import AppConfig, Limits

T = TypeVar("T")


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)


def dumps(content: Any) -> bytes:
    """Compact UTF-8 JSON; dates as ISO strings; NaN and infinity (not JSON) as null."""
    try:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default)
    except ValueError:
        text = json.dumps(_finite(content), ensure_ascii=False, separators=(",", ":"), default=_default)
    return text.encode("utf-8")


def _default(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def database(request: Request) -> Database:
    return request.app.state.db


def config(request: Request) -> AppConfig:
    return request.app.state.config


def limits(request: Request) -> Limits:
    return config(request).limits


async def work(fn: Callable[..., T], *args: Any) -> T:
    """Blocking work (DuckDB, numpy, the model, file reads) off the event loop."""
    return await run_in_threadpool(fn, *args)


def scope_of(request: Request) -> Scope:
    return catalog(request).scope(request.path_params["dataset"], request.path_params["scope"])


def records(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def source_of(scope: Scope) -> ScopeSource:
    meta = scope.dataset_meta()
    columns, where = tuple(meta.get("columns", [])), scope.input_path
    if scope.rows_complete():
        return ScopeSource(scope.parquet, where, columns, scope.text_column)
    return ScopeSource(scope.parquet, where, columns, scope.text_column, scope.rows, scope.rows_version())


async def params_of(request: Request, keys: tuple[str, ...]) -> QueryParams:
    """The query parameters of a GET, or for a POST its JSON body's (a selection too large for a URL)."""
    if request.method != "POST":
        return request.query_params
    return body_params(await json_body(request, limits(request)), request.query_params, keys)


def filter_of(params: QueryParams, scope: Scope, lim: Limits) -> RowFilter:
    return parse_filter(params, column_types(scope.dataset_meta()), lim)


def tag_indices(cat: Catalog, ds: Dataset, f: RowFilter) -> list[int] | None:
    """The rows of every tag of the filter (AND), or of any of them (tags_mode=any); None without tags."""
    if not f.tags:
        return None
    sets = [cat.tag(ds, name) for name in dict.fromkeys(f.tags)]
    combine = np.union1d if f.tags_mode == "any" else np.intersect1d
    return functools.reduce(combine, sets).tolist()


async def resolve(request: Request, scope: Scope, f: RowFilter) -> Resolved:
    """Turn the parts of a filter that live outside SQL (tags, semantic query) into ls_index lists."""
    found_tags = await work(tag_indices, catalog(request), scope.dataset, f)
    if f.q is None:
        return Resolved(tag_indices=found_tags)
    matches = await semantic(request, scope, f.q, f.k)
    return Resolved(found_tags, (matches.indices.tolist(), [float(s) for s in matches.scores]))


def resolve_now(request: Request, scope: Scope, f: RowFilter) -> Resolved:
    """As resolve, on the calling (worker) thread."""
    found_tags = tag_indices(catalog(request), scope.dataset, f)
    if f.q is None:
        return Resolved(tag_indices=found_tags)
    matches = semantic_now(request, scope, f.q, f.k)
    return Resolved(found_tags, (matches.indices.tolist(), [float(s) for s in matches.scores]))


async def semantic(request: Request, scope: Scope, q: str, k: int) -> Matches:
    return await work(semantic_now, request, scope, q, k)


def semantic_now(request: Request, scope: Scope, q: str, k: int) -> Matches:
    """The query's top-k, embedding and scoring on the calling (worker) thread: one hop off the event loop for the
    whole search instead of one per step (each hop waits to be scheduled, longest under load)."""
    path = _embedding_file(scope)
    embedding = scope.embedding
    embedder: QueryEmbedder = request.app.state.embedder
    model = QueryModel(embedding.model_id, scope.dataset.path.parent, embedding.params.get("dimensions"))
    try:
        vector = embedder.embed(model, q, embedding.prefix or "")
    except UserError as exc:
        if embedding.revision != IMPORTED:
            raise
        raise BadRequest(
            f"scope {scope.id!r} was embedded elsewhere (imported as {model.model_id!r}), a model that cannot embed "
            "queries here; find a row's neighbours instead (/neighbors?ls_index=N), or import the vectors with "
            "--model_id naming a model that can"
        ) from exc
    return _index_of(request, path).top_k(vector, k)


async def similar(request: Request, scope: Scope, row: int, k: int) -> Matches:
    """The k rows nearest to one row's own vector: needs no model, so it works for imported vectors too."""
    index = await vector_index(request, _embedding_file(scope))
    if not 0 <= row < index.matrix.shape[0]:
        raise NotFound(f"scope {scope.id!r} has no row {row} (it has {index.matrix.shape[0]})")
    return await work(index.top_k, np.asarray(index.matrix[row]), k)


async def vector_index(request: Request, path: Path) -> EmbeddingIndex:
    return await work(_index_of, request, path)


def _index_of(request: Request, path: Path) -> EmbeddingIndex:
    try:
        return embedding_index(path, request.app.state.copies)
    except CacheTooSmall as exc:  # the server's setting, not the client's request
        raise Unavailable(f"search is unavailable on this scope: {exc} (LATENT_SCOPE_VECTOR_CACHE_MB)") from exc


def _embedding_file(scope: Scope) -> Path:
    """The scope's vectors: an HDF5 file, or (Latent Scope 1.0) its embedding's LanceDB table."""
    path = scope.dataset.vectors_path(scope.sidecar.embedding_id)
    try:
        version(path)  # not is_file(): on object storage that answers False when the store is down, too
    except FileNotFoundError:
        raise NotFound(f"scope {scope.id!r} has no embedding file to search; re-run its embedding stage") from None
    return path
