"""The dataset's exclusion list from the explorer: the rows the next run of a recipe leaves out of its fit (not the
scope's own removed rows, which only hide). Each change is a new version (ls_pipeline/steps/exclusions.py); the
maps stay as they are until the recipe runs again. Writes are studio mode only and pass viewer/guard.py first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.steps import exclusions
from ls_pipeline.store.datadir import Dataset
from viewer.bodies import json_body
from viewer.guard import check_write
from viewer.routes.common import Json, catalog, limits, work


async def current(request: Request) -> Response:
    """The version in effect: its id (null: none yet), how many rows it excludes, and which."""
    ds = await work(catalog(request).dataset, request.path_params["dataset"])
    return Json(await work(_state, ds))


async def change(request: Request) -> Response:
    """A new version: body {"rows": [...], "source": "rows"|"filter"}, {"removed_in": SCOPE}, {"tag": NAME},
    {"duplicates": true} or {"restore": [...]}; 201 with the version."""
    check_write(request)
    ds = await work(catalog(request).dataset, request.path_params["dataset"])
    body = await json_body(request, limits(request))
    made = await work(catalog(request).write, exclusions.change, ds, body, limits(request).max_selection)
    return Json(await work(_state, ds) | {"source": made.sidecar.source}, status_code=201)


async def undo(request: Request) -> Response:
    """Undo the last change: a new version with the rows from before it; 201 with the version."""
    check_write(request)
    ds = await work(catalog(request).dataset, request.path_params["dataset"])
    made = await work(catalog(request).write, exclusions.undo, ds)
    return Json(await work(_state, ds) | {"source": made.sidecar.source}, status_code=201)


def _state(ds: Dataset) -> dict[str, object]:
    version = exclusions.current(ds)
    rows = exclusions.read_excluded(ds).tolist()
    can_undo = version is not None and version.undo_to is not None
    return {"version": version.id if version else None, "excluded": len(rows), "rows": rows, "can_undo": can_undo}
