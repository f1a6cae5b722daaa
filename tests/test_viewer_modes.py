"""Every route of the app's route table, in every app mode, against a live server over two datasets:

- no request without the studio page's token writes: GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS on every
  path leave the data directory byte for byte unchanged, every method a route does not answer is a 404 or a 405
  with Allow, and studio mode's tag edits (the only write routes besides hosted mode's import upload, route
  "import_upload", tested on its own) refuse it with a 403;
- hosted and single_profile modes have no tag edit route at all, and no route but the import upload that writes;
- single_profile: every other dataset, scope and tag answers exactly as one that does not exist (404, same body with
  the name swapped), and no body of any route names them.

Routes are read from the app (viewer.app.route_table via create_app), so a route added later is covered unasked.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from tests.helpers import tree_digest
from tests.viewer_support import copy_built, in_process
from viewer.app import create_app
from viewer.openapi_shapes import EDITS, FILTER_POSTS
from viewer.settings import config_from_env

PUBLIC = {"dataset": "sample", "scope": "scopes-001", "tag": "favourites", "other": "nope"}
HIDDEN_DATASET, HIDDEN_SCOPE, HIDDEN_TAG, HIDDEN_LABEL = "hiddendata", "scopes-002", "hiddentag", "hidden-scope-label"
# Each hidden name and a name of the same kind that exists nowhere: the two must get the same answer.
TWINS = {HIDDEN_DATASET: "absentdata", HIDDEN_SCOPE: "scopes-077", HIDDEN_TAG: "absenttag"}
HIDDEN_NAMES = (*TWINS, HIDDEN_LABEL)
MODES: dict[str, dict[str, str]] = {
    "studio": {"LATENT_SCOPE_APP_MODE": "studio"},
    "hosted": {"LATENT_SCOPE_APP_MODE": "hosted"},
    "single_profile": {
        "LATENT_SCOPE_APP_MODE": "single_profile",
        "LATENT_SCOPE_PUBLIC_DATASET": "sample",
        "LATENT_SCOPE_PUBLIC_SCOPE": "scopes-001",
    },
}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
QUERY = {"search": "?q=games", "neighbors": "?ls_index=0", "export": "?format=csv"}  # what a route needs to answer 200


@dataclass(frozen=True)
class Server:
    mode: str
    client: httpx.Client  # the app called in process (tests.viewer_support.in_process)
    routes: list[BaseRoute]


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """'sample' with a second scope, and a second dataset 'hiddendata' with a tag of its own (files copied)."""
    data = copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("modes") / "data")
    hidden = data / HIDDEN_DATASET
    shutil.copytree(data / "sample", hidden)
    meta = json.loads((hidden / "meta.json").read_text())
    (hidden / "meta.json").write_text(json.dumps({**meta, "id": HIDDEN_DATASET}))
    shutil.rmtree(hidden / "tags")
    (hidden / "tags").mkdir()
    (hidden / "tags" / f"{HIDDEN_TAG}.indices").write_text("3\n4\n")
    scopes = data / "sample" / "scopes"
    sidecar = json.loads((scopes / "scopes-001.json").read_text())
    (scopes / f"{HIDDEN_SCOPE}.json").write_text(json.dumps({**sidecar, "id": HIDDEN_SCOPE, "label": HIDDEN_LABEL}))
    shutil.copy(scopes / "scopes-001.parquet", scopes / f"{HIDDEN_SCOPE}.parquet")
    return data


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built frontend stand-in, so that the single-page-app fallback is what answers non-API paths."""
    folder = tmp_path_factory.mktemp("static")
    (folder / "index.html").write_text("<!doctype html><title>explore</title>")
    return folder


@pytest.fixture(scope="module", params=list(MODES))
def server(request: pytest.FixtureRequest, root: Path, static: Path, tmp_path_factory: pytest.TempPathFactory):
    mode = request.param
    env = {**MODES[mode], "LATENT_SCOPE_VIEWER_STATIC": str(static)}
    # The same app the server runs, built here only to read its route table (hosted may add routes).
    routes = create_app(root, config_from_env(env), static).routes
    with in_process(root, **env) as client:
        yield Server(mode, client, routes)


def urls(route: BaseRoute, values: dict[str, str]) -> list[str]:
    """Concrete paths for a route: its path parameters filled from values (unknown ones from values['other'])."""
    if isinstance(route, Mount):  # the single-page app: the root and a client-side route naming the ids
        return ["/", f"/datasets/{values['dataset']}/explore/{values['scope']}"]
    assert isinstance(route, Route), route
    path = re.sub(r"{(\w+)(?::\w+)?}", lambda m: values.get(m.group(1), values["other"]), route.path)
    return [path + QUERY.get(route.name or "", "")]


def test_no_route_writes_in_any_mode(server: Server, root: Path) -> None:
    before = tree_digest(root)
    answered: dict[str, int] = {}
    with contextlib.nullcontext(server.client) as http:
        for route in server.routes:
            if route.name == "import_upload" and server.mode == "hosted":
                continue  # the one writing route; tested with its own fixtures
            for url in urls(route, PUBLIC):
                for method in METHODS:
                    response = http.request(method, url, json={"probe": True} if method in ("POST", "PUT") else None)
                    answered[f"{method} {url}"] = response.status_code
                    assert response.status_code < 500, (method, url, response.text)
                    if method in write_methods(server.routes, url):  # a tag edit without the page's token
                        assert server.mode == "studio" and response.status_code == 403, (method, url, response.text)
                    elif method == "POST" and route.name in FILTER_POSTS:  # reads its filters from the body: 400 here
                        assert response.status_code == 400 and "probe" in response.json()["error"], (url, response.text)
                    elif method not in ("GET", "HEAD"):
                        assert response.status_code in (404, 405), (method, url, response.status_code)
                        assert response.json()["ok"] is False
                    if response.status_code == 405:  # says what the path does answer, and not this method
                        allowed = response.headers["allow"].split(", ")
                        assert allowed and method not in allowed, (method, url, allowed)
    assert tree_digest(root) == before, f"a request changed the data directory in {server.mode} mode"
    probed = [r for r in server.routes if not (r.name == "import_upload" and server.mode == "hosted")]
    paths = {url for route in probed for url in urls(route, PUBLIC)}  # routes may share a path
    assert len(answered) == 7 * len(paths) and len(paths) >= len(server.routes) - 2
    delete = answered["DELETE /api/datasets/sample/tags/favourites"]
    assert answered["POST /api/datasets"] == 405 and delete == (403 if server.mode == "studio" else 405)
    assert answered["GET /api/datasets/sample/scopes/scopes-001/rows"] == 200


def write_methods(routes: list[BaseRoute], url: str) -> set[str]:
    """The methods by which a tag edit route answers this path."""
    path = url.split("?")[0]
    edits = [r for r in routes if isinstance(r, Route) and r.name in EDITS and r.path_regex.match(path)]
    return {method for r in edits for method in r.methods or ()}


def test_only_studio_has_write_routes(server: Server) -> None:
    reads = {"GET", "HEAD"}
    writing = {
        route.name
        for route in server.routes
        if isinstance(route, Route)
        and route.name not in FILTER_POSTS  # POST carries their filters; they never write
        and route.name != "api_not_found"
        and set(route.methods or ()) - reads
    }
    expected = {"studio": set(EDITS), "hosted": {"import_upload"}, "single_profile": set()}[server.mode]
    assert writing == expected, server.mode
    if server.mode != "studio":
        assert not {r.name for r in server.routes if isinstance(r, Route)} & {*EDITS, "tag_history"}


def hidden_cases(route: BaseRoute) -> list[dict[str, str]]:
    """Substitutions that name something hidden in single_profile: the other dataset (and its tag), the other
    scope of the public dataset, and the other dataset's tag asked of the public dataset."""
    cases = [
        {**PUBLIC, "dataset": HIDDEN_DATASET, "tag": HIDDEN_TAG, "other": HIDDEN_DATASET},
        {**PUBLIC, "tag": HIDDEN_TAG},
    ]
    if isinstance(route, Mount) or "{scope}" in route.path:
        cases.append({**PUBLIC, "scope": HIDDEN_SCOPE})
    return cases


def answers_get(route: BaseRoute) -> bool:
    """A route of the API that serves GET (the catch-all and the static mount excluded)."""
    return isinstance(route, Route) and route.name != "api_not_found" and "GET" in (route.methods or ())


def twin(text: str) -> str:
    for hidden, absent in TWINS.items():
        text = text.replace(hidden, absent)
    return text


def assert_names_nothing_hidden(body: str, where: str) -> None:
    for name in HIDDEN_NAMES:
        assert name not in body, f"{where} names {name!r}"


@pytest.mark.parametrize("server", ["single_profile"], indirect=True)
def test_single_profile_hides_everything_else_on_every_route(server: Server) -> None:
    checked = 0
    with contextlib.nullcontext(server.client) as http:
        for route in server.routes:
            for values in hidden_cases(route):
                for url in urls(route, values):
                    # The path as is, and with the other dataset's tag as a filter too.
                    for probe in (url, url + ("&" if "?" in url else "?") + f"tag={HIDDEN_TAG}"):
                        hidden, absent = http.get(probe), http.get(twin(probe))
                        # Indistinguishable from a name that does not exist: same status, same body.
                        assert (hidden.status_code, twin(hidden.text)) == (absent.status_code, absent.text), probe
                        assert_names_nothing_hidden(absent.text, twin(probe))
                        if answers_get(route) and any(name in url for name in TWINS):
                            assert hidden.status_code == 404, (probe, hidden.status_code)
                        checked += 1
    print(f"\nsingle_profile: {checked} probes naming hidden ids over {len(server.routes)} routes, each as unknown")
    assert checked >= 4 * len(server.routes)


@pytest.mark.parametrize("server", ["single_profile"], indirect=True)
def test_single_profile_public_answers_name_nothing_hidden(server: Server) -> None:
    with contextlib.nullcontext(server.client) as http:
        for route in server.routes:
            for url in urls(route, PUBLIC):
                response = http.get(url)
                assert response.status_code < 500, url
                if answers_get(route) and set(re.findall(r"{(\w+)", route.path)) <= {"dataset", "scope", "tag"}:
                    assert response.status_code == 200, (url, response.text[:200])  # every public resource
                assert_names_nothing_hidden(response.content.decode("utf-8", errors="replace"), url)
                assert_names_nothing_hidden(json.dumps(dict(response.headers)), url + " headers")
        assert [d["id"] for d in http.get("/api/datasets").json()] == ["sample"]
        assert [s["id"] for s in http.get("/api/datasets/sample/scopes").json()] == ["scopes-001"]
        assert http.get("/api/app").json()["public_dataset"] == "sample"
