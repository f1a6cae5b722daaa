"""Studio mode's tag edits: create, rename and delete a tag, add or remove the rows a filter matches (a clicked or
lassoed selection, or everything the filters keep), the history and undo. These routes exist in studio mode only
(viewer/app.py) and every one of them passes viewer/guard.py first."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.store import tags as store
from ls_pipeline.store.datadir import Dataset
from viewer import db
from viewer.bodies import FILTER_KEYS, json_body
from viewer.catalog import check_tag
from viewer.errors import BadRequest, shown
from viewer.guard import check_write
from viewer.routes.common import (
    Json,
    catalog,
    database,
    filter_of,
    limits,
    params_of,
    resolve,
    scope_of,
    source_of,
    work,
)


async def create(request: Request) -> Response:
    """Create an empty tag: body {"tag": NAME}."""
    ds, body = await _dataset(request), await _body(request, ("tag",))
    entry = await work(catalog(request).write, store.create, ds, _name(body.get("tag"), "tag name"))
    return Json(_summary(entry), status_code=201)


async def rename(request: Request) -> Response:
    """Rename a tag: body {"to": NEW_NAME}."""
    ds, body = await _dataset(request), await _body(request, ("to",))
    tag = check_tag(request.path_params["tag"])
    to = _name(body.get("to"), "new tag name")
    return Json(_summary(await work(catalog(request).write, store.rename, ds, tag, to)))


async def delete(request: Request) -> Response:
    """Delete a tag (its rows stay in the history, and undo brings it back)."""
    ds = await _dataset(request)
    tag = check_tag(request.path_params["tag"])
    return Json(_summary(await work(catalog(request).write, store.delete, ds, tag)))


async def add(request: Request) -> Response:
    """Add the rows the body's filters match (ls_index: a selection) to the tag."""
    return await _change(request, adding=True)


async def remove(request: Request) -> Response:
    """Remove the rows the body's filters match (ls_index: a selection) from the tag."""
    return await _change(request, adding=False)


async def undo(request: Request) -> Response:
    """Revert the dataset's newest tag edit not yet undone."""
    ds = await _dataset(request)
    return Json(_summary(await work(catalog(request).write, store.undo, ds)))


async def history(request: Request) -> Response:
    """Every tag edit of the dataset, oldest first (without the rows before and after)."""
    ds = await work(catalog(request).dataset, request.path_params["dataset"])
    entries = await work(store.history, ds)
    return Json([{k: v for k, v in e.items() if k not in ("before", "after")} for e in entries])


async def _change(request: Request, adding: bool) -> Response:
    check_write(request)
    found = await work(scope_of, request)
    tag = check_tag(request.path_params["tag"])
    f = filter_of(await params_of(request, FILTER_KEYS), found, limits(request))
    length = int(found.dataset_meta().get("length", 0))
    outside = [i for i in f.selection or () if not 0 <= i < length]
    if outside:
        raise BadRequest(f"ls_index {outside[0]} is not a row of dataset {found.dataset.name!r} (0..{length - 1})")
    resolved = await resolve(request, found, f)
    src = source_of(found)
    table = await work(database(request).scope_query, src, lambda name: db.indices_sql(name, src, f, resolved))
    rows = table.column(0).to_pylist()
    entry = await work(
        catalog(request).write, store.change, found.dataset, tag, rows if adding else (), () if adding else rows
    )
    return Json(_summary(entry))


async def _dataset(request: Request) -> Dataset:
    check_write(request)
    return await work(catalog(request).dataset, request.path_params["dataset"])


async def _body(request: Request, keys: tuple[str, ...]) -> dict[str, Any]:
    body = await json_body(request, limits(request))
    if not isinstance(body, dict) or set(body) - set(keys):
        raise BadRequest(f"the body must be a JSON object with {', '.join(keys)}")
    return body


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a string, not {shown(value)}")
    return check_tag(value, what)


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    """The edit as the client sees it: what happened and the tags' row counts after it (null: gone)."""
    counts = {tag: None if rows is None else len(rows) for tag, rows in entry["after"].items()}
    return {**{k: v for k, v in entry.items() if k not in ("before", "after")}, "counts": counts}
