"""The built explore frontend from viewer/static/, as a single-page app: unknown paths get index.html."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Latent Scope</title></head>
<body style="font: 15px system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>The explore frontend is not built</h1>
<p>The viewer's API is running (see <a href="/openapi.json">/openapi.json</a> and
<a href="/api/datasets">/api/datasets</a>), but <code>viewer/static/index.html</code> is missing.</p>
<p>Build the frontend from the repository root with <code>cd viewer/frontend &amp;&amp; npm install &amp;&amp;
npm run build</code> (it writes <code>viewer/static/</code>), then reload this page.</p>
</body></html>"""


class SinglePageApp(StaticFiles):
    """Static files; a path that is not a file gets index.html so client-side routes load the app."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.root = directory

    async def check_config(self) -> None:
        # A checkout where the frontend is not built has no static folder: get_response then answers NOT_BUILT,
        # where StaticFiles would raise (a 500 on every non-API path).
        if self.root.is_dir():
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})
        index = self.root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=200)
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            return FileResponse(index, media_type="text/html")
