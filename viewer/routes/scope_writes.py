"""Studio mode's scope edits: rename a cluster or edit its description, move rows to another cluster, merge two
clusters, remove rows (and bring them back), and undo. Each publishes a new scope version (ls_pipeline/steps/
curate.py); the answer names it so the page can open it. Studio mode only, and every route passes
viewer/guard.py first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.steps import curate
from viewer.bodies import json_body
from viewer.guard import check_write
from viewer.routes.common import Json, catalog, limits, scope_of, work


async def edit(request: Request) -> Response:
    """Apply one edit to the scope: {"op": "rename"|"move"|"merge"|"remove"|"restore", ...}; 201 with the new
    version's scope id."""
    check_write(request)
    found = await work(scope_of, request)
    body = await json_body(request, limits(request))
    edit = catalog(request).write
    version = await work(edit, curate.edit, found.dataset, found.id, body, limits(request).max_selection)
    return Json(_summary(version), status_code=201)


async def undo(request: Request) -> Response:
    """Undo the scope's last edit: a new version with the content from before it; 201 with its scope id."""
    check_write(request)
    found = await work(scope_of, request)
    return Json(_summary(await work(catalog(request).write, curate.undo, found.dataset, found.id)), status_code=201)


def _summary(version: curate.Version) -> dict[str, object]:
    raw = version.scope.sidecar.raw
    return {
        "scope": version.scope.id,
        "labels_id": version.labels_id,
        "edited_from": raw.get("edited_from"),
        "edit": raw.get("edit"),
        "removed": raw.get("removed", 0),
        "can_undo": bool(raw.get("undo_to")),
    }
