"""Tags of a dataset: tags/<name>.indices files, one ls_index a line."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from viewer.routes.common import Json, catalog, work


async def tags(request: Request) -> Response:
    """Every tag of the dataset with its row count."""
    cat = catalog(request)
    ds = await work(cat.dataset, request.path_params["dataset"])
    found = await work(cat.tags, ds)
    return Json([{"tag": name, "count": int(len(values))} for name, values in found.items()])


async def tag(request: Request) -> Response:
    """The ls_index values of one tag."""
    cat = catalog(request)
    ds = await work(cat.dataset, request.path_params["dataset"])
    values = await work(cat.tag, ds, request.path_params["tag"])
    return Json({"tag": request.path_params["tag"], "indices": values.tolist()})
