"""A minimal read-only viewer: datasets, scopes, points and rows as JSON, and a static page that draws the map."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import DataDir, Dataset

STATIC = Path(__file__).parent / "static"
MAX_PAGE = 1000


def _data(request: Request) -> DataDir:
    return request.app.state.data


def _dataset(request: Request) -> Dataset:
    return _data(request).dataset(request.path_params["dataset"])


def _scope(request: Request) -> tuple[Dataset, dict[str, Any]]:
    ds = _dataset(request)
    return ds, ds.sidecar("scope", request.path_params["scope"])


async def datasets(request: Request) -> JSONResponse:
    data = _data(request)
    return JSONResponse([data.dataset(name).meta() for name in data.dataset_names()])


async def meta(request: Request) -> JSONResponse:
    return JSONResponse(_dataset(request).meta())


async def scopes(request: Request) -> JSONResponse:
    return JSONResponse(list(_dataset(request).sidecars("scope")))


async def scope(request: Request) -> JSONResponse:
    return JSONResponse(_scope(request)[1])


async def points(request: Request) -> Response:
    ds, sidecar = _scope(request)
    table = pq.read_table(ds.file("scope", sidecar["id"], ".parquet"), columns=["ls_index", "x", "y", "cluster"])
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return Response(sink.getvalue(), media_type="application/vnd.apache.arrow.stream")


async def rows(request: Request) -> JSONResponse:
    ds, _ = _scope(request)
    try:
        offset = max(0, int(request.query_params.get("offset", 0)))
        limit = min(MAX_PAGE, max(1, int(request.query_params.get("limit", 100))))
    except ValueError as exc:
        raise HTTPException(400, "offset and limit must be integers") from exc
    table = pq.read_table(ds.input_path).slice(offset, limit)
    records = json.loads(table.to_pandas().to_json(orient="records"))
    return JSONResponse(
        {
            "offset": offset,
            "limit": limit,
            "total": ds.meta()["length"],
            "rows": [{"ls_index": offset + i, **r} for i, r in enumerate(records)],
        }
    )


async def user_error(request: Request, exc: Exception) -> JSONResponse:
    status = 404 if type(exc).__name__ == "NotFound" else 400
    return JSONResponse({"ok": False, "error": str(exc), "status": status}, status_code=status)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"ok": False, "error": exc.detail, "status": exc.status_code}, status_code=exc.status_code)


def create_app(data_dir: str | Path) -> Starlette:
    base = "/api/datasets/{dataset}"
    routes = [
        Route("/api/datasets", datasets),
        Route(base + "/meta", meta),
        Route(base + "/scopes", scopes),
        Route(base + "/scopes/{scope}", scope),
        Route(base + "/scopes/{scope}/points", points),
        Route(base + "/scopes/{scope}/rows", rows),
        Mount("/", StaticFiles(directory=STATIC, html=True), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={UserError: user_error, HTTPException: http_error})
    app.state.data = DataDir(data_dir)
    return app


def run_server(data_dir: str | Path, host: str = "127.0.0.1", port: int = 5001) -> None:
    import uvicorn

    print(f"serving {data_dir} at http://{host}:{port}/", flush=True)
    uvicorn.run(create_app(data_dir), host=host, port=port, log_level="warning")
