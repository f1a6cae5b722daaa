"""The instance: app mode and the embedding model catalog."""

from __future__ import annotations

from importlib import metadata

from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.models.embedding import catalog as model_catalog
from viewer.guard import is_own_host
from viewer.routes.common import Json, config


async def app_info(request: Request) -> Response:
    """App mode, whether imports (hosted) or tag edits (studio) are open, the public scope (single_profile)."""
    cfg = config(request)
    try:
        version = metadata.version("ls-pipeline")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return Json(
        {
            "mode": cfg.mode,
            "read_only": cfg.mode == "single_profile",
            "tag_edits": cfg.mode == "studio",
            "scope_edits": cfg.mode == "studio",
            # Only to a request addressed to this server by its own name: a DNS-rebinding page gets none.
            "write_token": request.app.state.write_token if cfg.mode == "studio" and is_own_host(request) else None,
            "imports": cfg.mode == "hosted",
            "max_upload_mb": cfg.limits.max_upload_mb if cfg.mode == "hosted" else None,
            "public_dataset": cfg.public_dataset if cfg.single else None,
            "public_scope": cfg.public_scope if cfg.single else None,
            "version": version,
        }
    )


async def models(request: Request) -> Response:
    """Embedding models of the catalog (for display only)."""
    return Json(model_catalog())
