"""The viewer app: create_app(data_dir) with the whole route table in one list."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route

from ls_pipeline import settings
from ls_pipeline.models import api_embedding
from ls_pipeline.store.local_copies import LocalCopies
from ls_pipeline.store.location import is_remote
from viewer.catalog import Catalog
from viewer.db import Database
from viewer.errors import HANDLERS, NotFound
from viewer.guard import new_token
from viewer.openapi import openapi
from viewer.routes import (
    compare,
    datasets,
    exclusion_writes,
    facets,
    imports,
    instance,
    points,
    rows,
    scope_writes,
    tag_writes,
    tags,
)
from viewer.routes.common import Json
from viewer.routes.static import SinglePageApp
from viewer.search import QueryEmbedder
from viewer.settings import AppConfig, config_from_env

STATIC = Path(__file__).parent / "static"
# Routes that read with filters too large for a URL take them as a POST body too; POST never writes there.
READ_POST = ["GET", "HEAD", "POST"]
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
log = logging.getLogger("viewer")


def studio_routes() -> list[BaseRoute]:
    """Studio mode's tag and scope edits; every one passes viewer/guard.py (same origin, the page's token) first."""
    ds = "/api/datasets/{dataset}"
    scope = ds + "/scopes/{scope}"
    tag = ds + "/tags/{tag}"
    scope_tag = ds + "/scopes/{scope}/tags/{tag}"
    return [
        Route(ds + "/tags", tag_writes.create, methods=["POST"], name="tag_create"),
        Route(tag + "/rename", tag_writes.rename, methods=["POST"], name="tag_rename"),
        Route(tag, tag_writes.delete, methods=["DELETE"], name="tag_delete"),
        Route(scope_tag + "/add", tag_writes.add, methods=["POST"], name="tag_add"),
        Route(scope_tag + "/remove", tag_writes.remove, methods=["POST"], name="tag_remove"),
        Route(ds + "/tag-history", tag_writes.history, name="tag_history"),
        Route(ds + "/tag-history/undo", tag_writes.undo, methods=["POST"], name="tag_undo"),
        Route(scope + "/edits", scope_writes.edit, methods=["POST"], name="scope_edit"),
        Route(scope + "/edits/undo", scope_writes.undo, methods=["POST"], name="scope_undo"),
        Route(ds + "/exclusions", exclusion_writes.change, methods=["POST"], name="exclusions_change"),
        Route(ds + "/exclusions/undo", exclusion_writes.undo, methods=["POST"], name="exclusions_undo"),
    ]


def route_table(static_dir: Path, mode: str = "studio") -> list[BaseRoute]:
    """Every route: the import routes in hosted mode only (its upload writes into the inbox), the tag edits in
    studio mode only; single_profile has no route that writes."""
    ds = "/api/datasets/{dataset}"
    scope = ds + "/scopes/{scope}"
    hosted_only = [
        Route("/api/imports", imports.upload, methods=["POST"], name="import_upload"),
        Route("/api/imports/{name}", imports.status, name="import_status"),
    ]
    return [
        *(hosted_only if mode == "hosted" else []),
        *(studio_routes() if mode == "studio" else []),
        Route("/api/app", instance.app_info, name="app"),
        Route("/api/models", instance.models, name="models"),
        Route("/api/datasets", datasets.datasets, name="datasets"),
        Route(ds + "/meta", datasets.meta, name="meta"),
        Route(ds + "/scopes", datasets.scopes, name="scopes"),
        Route(scope, datasets.scope, name="scope"),
        Route(scope + "/thumbnail", datasets.thumbnail, name="thumbnail"),
        Route(scope + "/points", points.points, name="points"),
        Route(scope + "/clusters", datasets.clusters, name="clusters"),
        Route(scope + "/versions", compare.versions, name="versions"),
        Route(scope + "/compare/{other}", compare.compare, name="compare"),
        Route(scope + "/changes", compare.changes, name="changes"),
        Route(scope + "/rows", rows.rows, methods=READ_POST, name="rows"),
        Route(scope + "/rows/indices", rows.indices, methods=READ_POST, name="indices"),
        Route(scope + "/search", rows.search, name="search"),
        Route(scope + "/neighbors", rows.neighbors, name="neighbors"),
        Route(scope + "/facets", facets.facets, methods=READ_POST, name="facets"),
        Route(scope + "/export", rows.export, methods=READ_POST, name="export"),
        Route(ds + "/tags", tags.tags, name="tags"),
        Route(ds + "/exclusions", exclusion_writes.current, name="exclusions"),
        Route(ds + "/tags/{tag}", tags.tag, name="tag"),
        Route("/openapi.json", openapi_json, name="openapi"),
        Route("/api/{rest:path}", api_not_found, methods=ANY_METHOD, name="api_not_found"),
        Mount("/", app=SinglePageApp(static_dir), name="static"),
    ]


async def openapi_json(request: Request) -> Response:
    """This document."""
    return Json(openapi(request.app.routes, _version(), request.app.state.config.limits))


async def api_not_found(request: Request) -> Response:
    # Every method reaches this catch-all, so a known path asked with the wrong method gets its 405 here (the
    # static mount below would otherwise answer it).
    allowed = {
        method
        for route in request.app.routes
        if isinstance(route, Route) and route.name != "api_not_found" and route.matches(request.scope)[0] != Match.NONE
        for method in route.methods or ()
    }
    if allowed:
        raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
    raise NotFound("no such API route; see /openapi.json")


def create_app(data_dir: Any, config: AppConfig | None = None, static_dir: str | Path | None = None) -> Starlette:
    """The viewer over a data directory (a local path, or s3://bucket/prefix as a string or a UPath); config
    defaults to the environment (LATENT_SCOPE_APP_MODE ...).

    The frontend comes from viewer/static/, or from $LATENT_SCOPE_VIEWER_STATIC (a frontend built elsewhere).
    """
    config = config or config_from_env()
    static_dir = static_dir or settings.get("LATENT_SCOPE_VIEWER_STATIC") or STATIC
    embedder = QueryEmbedder()
    catalog = Catalog(data_dir, config)
    root = catalog.data.root
    # Embedding files on object storage are searched from local copies in a folder of this server's own.
    copies = LocalCopies(config.limits.vector_cache_mb * 2**20, setting="vector_cache_mb") if is_remote(root) else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Load the embedding models of the served scopes in the background: the first search then finds them warm.
        threading.Thread(target=_warm, args=(catalog, embedder), daemon=True, name="warm-models").start()
        try:
            yield
        finally:
            if copies is not None:
                copies.close()

    app = Starlette(
        routes=route_table(Path(static_dir), config.mode),
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.catalog = catalog
    app.state.db = Database(
        config.limits.sql_time_limit_ms, config.limits.max_cached_scopes, root.fs if is_remote(root) else None
    )
    app.state.copies = copies
    app.state.embedder = embedder
    app.state.write_token = new_token()  # the studio page's, for this server's life
    return app


def _warm(catalog: Catalog, embedder: QueryEmbedder) -> None:
    model_ids: list[str] = []
    try:
        for name in catalog.dataset_names():
            for sidecar in catalog.scopes(name):
                model_id = sidecar.embedding.model_id
                if model_id and model_id not in model_ids and api_embedding.find(model_id) is None:  # local only
                    model_ids.append(model_id)
    except Exception as exc:
        log.warning("could not list the scopes' embedding models: %s", exc)
    for model_id in model_ids[:2]:
        try:
            embedder.warm(model_id)
        except Exception as exc:  # reported when a search asks for it (a Latent Scope id we cannot run, say)
            log.warning("could not warm embedding model %s: %s", model_id, exc)


def _version() -> str:
    try:
        return metadata.version("ls-pipeline")
    except metadata.PackageNotFoundError:
        return "unknown"
