"""JSON request bodies: read with a size cap, and a filter body turned into the query parameters the GET routes
read, so one parser (viewer/filters.py) serves both and a POST means exactly what the same GET would."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request

from viewer.errors import ApiError, BadRequest, shown
from viewer.settings import Limits

# The keys a filter body may carry; each is the query parameter of the same name.
FILTER_KEYS = (
    "cluster",
    "tag",
    "tags_mode",
    "where",
    "text",
    "text_mode",
    "q",
    "k",
    "ls_index",
    "selection",
    "sort",
    "include_removed",
)
PAGE_KEYS = ("offset", "limit")


class TooLarge(ApiError):
    status = 413


class UnsupportedType(ApiError):
    status = 415


def max_body_bytes(limits: Limits) -> int:
    # A full selection (max_selection integers of up to 19 digits and a comma) plus room for the other filters.
    return limits.max_selection * 21 + 256 * 1024


async def json_body(request: Request, limits: Limits) -> Any:
    """The request's JSON value; 415 unless it says application/json, 413 past the cap, 400 if not JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedType(f"send the body as application/json, not {shown(media)}")
    cap, raw = max_body_bytes(limits), bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > cap:
            raise TooLarge(f"the body is over {cap:,} bytes; a selection may name at most {limits.max_selection:,}")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise BadRequest('the body must be JSON, e.g. {"tag": ["a", "b"], "ls_index": [1, 2]}') from exc


def body_params(body: Any, query: QueryParams, keys: tuple[str, ...]) -> QueryParams:
    """The body's filters as query parameters, after those of the URL (format=, say); unknown keys are refused."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object of filters, e.g. {"cluster": [1], "ls_index": [4, 9]}')
    items = list(query.multi_items())
    for key, value in body.items():
        if key not in keys:
            raise BadRequest(f"unknown key {shown(key)} in the body; keys: {', '.join(keys)}")
        items += [(key, v) for v in _strings(key, value)]
    return QueryParams(items)


def _strings(key: str, value: Any) -> list[str]:
    if key == "where":  # the one JSON-valued parameter
        return [json.dumps(value)]
    if key == "include_removed" and isinstance(value, bool):
        return ["true" if value else "false"]
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise BadRequest(f"{key} takes strings or integers (or a list of them), not {shown(v)}")
        out.append(str(v))
    return out
