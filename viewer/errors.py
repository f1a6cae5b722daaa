"""One error body for every failure, typed 4xx errors, and a catch-all that never leaks a path or a traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import duckdb
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from ls_pipeline.errors import Conflict, UserError
from ls_pipeline.errors import NotFound as StoreNotFound
from ls_pipeline.store.location import describe, is_remote

log = logging.getLogger("viewer")

# Anything that looks like an absolute filesystem path (POSIX or Windows) is cut from messages before they leave.
# The viewer's own URL paths (/api/..., /openapi.json) are kept: they are what a client should call instead.
_PATH = re.compile(r"(?:[A-Za-z]:\\|(?<![\w:/])/(?!api/|openapi))(?:[^\s'\"/\\]+[/\\])+[^\s'\"]*")


class ApiError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404


class Forbidden(ApiError):
    status = 403


class Unavailable(ApiError):
    """The data store (object storage) cannot be read right now: the client may retry; nothing is its fault."""

    status = 503
    MESSAGE = "the data store cannot be reached right now (logged on the server); try again shortly"

    @classmethod
    def of(cls, exc: BaseException, root: object) -> Unavailable:
        # The one line from store/location.py goes to the log only: it names the endpoint and the bucket.
        log.warning("data store unavailable: %s", describe(exc, root) or f"{type(exc).__name__}: {exc}")
        return cls(cls.MESSAGE)


def error_body(message: str, status: int) -> dict[str, object]:
    return {"ok": False, "error": scrub(message), "status": status}


def error_response(message: str, status: int, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, status), status_code=status, headers=headers)


def scrub(message: str) -> str:
    """One line, no filesystem paths."""
    first = (message.strip().splitlines() or [""])[0]
    return _PATH.sub("<path>", first)[:500]


def shown(value: object, width: int = 60) -> str:
    """A user-supplied value quoted for a message, cut short so a hostile input cannot flood the body."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


async def api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.message, exc.status)


async def user_error(request: Request, exc: Exception) -> JSONResponse:
    status = 404 if isinstance(exc, StoreNotFound) else 409 if isinstance(exc, Conflict) else 400
    return error_response(str(exc), status)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = "no such route" if exc.status_code == 404 else str(exc.detail)
    allow = (exc.headers or {}).get("Allow")
    if exc.status_code == 405 and allow:
        message = f"method {request.method} is not allowed here; this route answers {allow}"
    # The headers stay: a 405 must say in Allow what the route does answer.
    return error_response(message, exc.status_code, exc.headers)


async def query_interrupted(request: Request, exc: Exception) -> JSONResponse:
    return error_response("the query ran past sql_time_limit_ms and was stopped; narrow the filters", 400)


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    root = request.app.state.catalog.data.root
    if is_remote(root) and describe(exc, root) is not None:  # the store failed mid-request: a 503, not our bug
        return error_response(Unavailable.of(exc, root).message, Unavailable.status)
    # The traceback goes to the server log only; the client learns that it was our fault, not where.
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response("internal error in the viewer (logged on the server)", 500)


HANDLERS = {
    ApiError: api_error,
    UserError: user_error,
    HTTPException: http_error,
    duckdb.InterruptException: query_interrupted,
    Exception: unexpected,
}
