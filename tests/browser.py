"""Helpers for the browser tests: the built frontend, a real viewer on a free loopback port, headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "viewer" / "frontend"
STATIC_INDEX = ROOT / "viewer" / "static" / "index.html"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def ensure_frontend_built() -> None:
    """Build viewer/static/ when it is missing or older than the sources (setup.sh builds it in CI)."""
    sources = [p for p in FRONTEND.rglob("*") if p.is_file() and "node_modules" not in p.parts]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if STATIC_INDEX.is_file() and STATIC_INDEX.stat().st_mtime >= newest:
        return
    if shutil.which("npm") is None:
        pytest.fail("the explore frontend is not built and npm is missing: run `bash scripts/setup.sh`")
    steps = [] if (FRONTEND / "node_modules").is_dir() else [["npm", "ci", "--no-audit", "--no-fund"]]
    for cmd in [*steps, ["npm", "run", "build"]]:
        done = subprocess.run(cmd, cwd=FRONTEND, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed in viewer/frontend:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def viewer_server(data_root: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The real viewer (ls-serve, uvicorn) over a data directory; yields its base URL."""
    port = free_port()
    code = "import sys; from ls_pipeline.cli import serve_main; sys.exit(serve_main())"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data_root), "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the viewer exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            try:
                with urllib.request.urlopen(url + "/api/app", timeout=2) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the viewer did not answer /api/app within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing at /usr/bin/chromium: run `apt-get install -y chromium`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def watched_context(browser: Any, width: int = 1400, height: int = 900, **options: Any) -> Iterator[Any]:
    """A page in a new context of `browser`; the test fails if the page threw a JavaScript error meanwhile."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@contextmanager
def watched_page(width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A Chromium page of that size, in a browser of its own, watched as watched_context watches it."""
    with chromium() as browser, watched_context(browser, width, height) as page:
        yield page


def explore_url(server: str, data: dict[str, object], query: str = "") -> str:
    """The explore page of the scope `data` names (data["scope"]) in dataset 'sample'."""
    return f"{server}/datasets/sample/explore/{data['scope']}{'?' + query if query else ''}"


def open_explore(page: Any, url: str) -> None:
    """Opens the explore page at `url` and waits until the map is drawn and the table has rows."""
    page.goto(url)
    page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=30_000)
    page.wait_for_selector("[data-testid=rows] tbody tr", timeout=30_000)


def rgb_pixels(png: bytes) -> np.ndarray:
    """A screenshot's pixels, one RGB row (ints) each."""
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)


def non_background_pixels(png: bytes, tolerance: int = 24) -> int:
    """How many pixels differ from the image's most common colour (the map background)."""
    import numpy as np

    img = rgb_pixels(png)
    colours, counts = np.unique(img, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    return int((np.abs(img - background).max(axis=1) > tolerance).sum())


def dominant_colour(png: bytes) -> tuple[int, int, int]:
    import numpy as np

    colours, counts = np.unique(rgb_pixels(png), axis=0, return_counts=True)
    return tuple(int(v) for v in colours[counts.argmax()])


def dark_text_pixels(png: bytes) -> int:
    """Pixels of the light theme's near-black label text, antialiased: dark and grey (cluster colours have a hue)."""
    img = rgb_pixels(png)
    return int(((img.max(axis=1) < 120) & (img.max(axis=1) - img.min(axis=1) < 16)).sum())


def draw_lasso(page, half: float) -> None:  # noqa: ANN001
    """Lasso a square of 2*half pixels around the map's centre, as a user drags it, and wait for its chip."""
    box = page.locator("[data-testid=map]").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.get_by_role("button", name="Lasso").click()
    page.mouse.move(cx - half, cy - half)
    page.mouse.down()
    for dx, dy in [(half, -half), (half, half), (-half, half), (-half, -half)]:
        page.mouse.move(cx + dx, cy + dy, steps=8)
    page.mouse.up()
    page.wait_for_selector("[data-testid=chip][data-kind=lasso]")
