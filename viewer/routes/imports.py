"""Hosted mode's X import: the one route of the viewer that writes (into the inbox), and its progress.

The upload is checked here as strictly as the inbox sensor would check it, so a bad archive is refused at once with
its reason instead of waiting in the inbox to be rejected. The pipeline itself runs in Dagster: the inbox sensor
ingests the file, the default recipe follows, bounded by LATENT_SCOPE_JOB_TIMEOUT_SEC.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from ls_pipeline.errors import UserError
from ls_pipeline.steps import x_archive
from ls_pipeline.store.atomic import local_folder, publish
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.imports import (
    claim,
    has_owner,
    import_status,
    is_claimed,
    is_import,
    secret_matches,
    upload_path,
)
from viewer.bodies import TooLarge, UnsupportedType
from viewer.catalog import check_id
from viewer.errors import ApiError, BadRequest, Forbidden, NotFound, scrub, shown
from viewer.routes.common import Json, catalog, limits, work

SUFFIX_BY_TYPE = {
    "application/json": x_archive.TWEETS_JSON_SUFFIX,  # privacy mode: the minimized tweets the browser extracted
    "application/zip": ".zip",  # the whole archive, read on the server
    "application/x-zip-compressed": ".zip",
}


SECRET_HEADER = "x-import-secret"


class NameTaken(ApiError):
    status = 409


async def upload(request: Request) -> Response:
    """Upload an X archive (application/zip) or its minimized tweets (application/json) as dataset `name`."""
    name = check_id(request.query_params.get("name", ""), "import name")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = SUFFIX_BY_TYPE.get(media)
    if suffix is None:
        raise UnsupportedType(f"unsupported upload type {shown(media)}: send application/zip or application/json")
    data = catalog(request).writes  # what it decides by must be fresh, as for every write (viewer/catalog.py)
    existing = Dataset(data.root / name)
    if existing.meta_path.is_file() and not is_import(existing):
        # An import upserts by tweet id into its dataset: never into one made from another kind of file.
        raise NameTaken(f"{shown(name)} is already a dataset that is not an X import; choose another name")
    _check_owner(request, name)
    max_mb = limits(request).max_upload_mb
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_mb * 2**20:
        raise TooLarge(f"the upload is {int(declared) / 2**20:.1f} MB, over LATENT_SCOPE_MAX_UPLOAD_MB={max_mb} MB")
    target = upload_path(data, name, suffix)
    # Received into a local file (hidden beside the inbox, or in the scratch folder when the inbox is on object
    # storage), read there, then published whole: the inbox sensor skips dot-files and never sees half an upload.
    partial = local_folder(target) / f".upload-{secrets.token_hex(8)}.partial"
    try:
        size = await _receive(request, partial, max_mb)
        rows = await work(_validate, partial, suffix, f"{name}{suffix}")
        secret = None if has_owner(data, name) else await work(claim, data, name)
        if secret is None and not secret_matches(data, name, request.headers.get(SECRET_HEADER, "")):
            raise Forbidden(f"another upload claimed {shown(name)} first; choose another name")  # a lost race
        await work(publish, partial, target)  # on object storage one PUT: not on the event loop
    finally:
        partial.unlink(missing_ok=True)
        catalog(request).forget()  # its status is asked next: from the store, not from a kept answer
    answer = {"name": name, "rows": rows, "bytes": size, "status": f"/api/imports/{name}"}
    # The secret is shown once, to the first uploader: only its hash stays on the server.
    return Json({**answer, "secret": secret} if secret else answer, status_code=202)


def _check_owner(request: Request, name: str) -> None:
    """A re-import into a name must carry the secret its first upload returned (before a byte is received)."""
    data = catalog(request).writes
    given = request.headers.get(SECRET_HEADER, "")
    if has_owner(data, name):
        if not secret_matches(data, name, given):
            raise Forbidden(
                f"{shown(name)} belongs to whoever imported it first: send the secret that upload returned "
                f"in the {SECRET_HEADER} header, or choose another name"
            )
    elif is_claimed(data, name):  # imported before secrets existed: nobody can prove it is theirs
        raise Forbidden(f"{shown(name)} was imported before import secrets; choose another name")


async def status(request: Request) -> Response:
    """How far an import has come: queued, embedding, projecting, clustering, labeling, ready (with its scope)."""
    name = check_id(request.path_params["name"], "import name")
    found = await work(import_status, catalog(request).data, name)
    if found is None:
        raise NotFound(f"no import named {shown(name)}; upload one with POST /api/imports?name=NAME")
    if "message" in found:  # a run's failure may name files on the server's disk: the uploader sees the reason only
        found["message"] = scrub(found["message"])
    return Json(found)


async def _receive(request: Request, path: Path, max_mb: int) -> int:
    size = 0
    with open(path, "wb") as handle:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_mb * 2**20:  # a body longer than its Content-Length said, or one sent chunked
                raise TooLarge(f"the upload is over LATENT_SCOPE_MAX_UPLOAD_MB={max_mb} MB")
            handle.write(chunk)
    if size == 0:
        raise BadRequest("the upload is empty: choose the archive zip you downloaded from X")
    return size


def _validate(path: Path, suffix: str, shown_as: str) -> int:
    """The number of tweets in the upload; BadRequest naming the first problem (and never the server's paths)."""
    try:
        frame = x_archive.read_upload(path, suffix, shown_as)
    except UserError as exc:
        raise BadRequest(str(exc).replace(path.name, shown_as)) from exc
    if frame.empty:
        raise BadRequest(f"{shown_as} holds no tweets")
    return len(frame)
