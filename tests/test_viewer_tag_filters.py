"""Several tags at once (all of them, or any of them with tags_mode=any) and filters sent as a POST body, on rows,
indices and export; the POST answers exactly what the same GET does, and a selection too large for a URL fits."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.viewer_support import TAGS, copy_built, in_process, snapshot

SCOPE = "/api/datasets/sample/scopes/scopes-001"
MAX_SELECTION = 300


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("tagfilters") / "data")


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[httpx.Client]:
    before = snapshot(root)
    with in_process(root, LATENT_SCOPE_MAX_SELECTION=str(MAX_SELECTION)) as http:
        yield http
    assert snapshot(root) == before, "a read (GET or POST) wrote to the data directory"


def indices(client: httpx.Client, **params: Any) -> list[int]:
    response = client.get(SCOPE + "/rows/indices", params=params)
    assert response.status_code == 200, response.text
    return response.json()["indices"]


def posted(client: httpx.Client, path: str, body: Any, **params: Any) -> httpx.Response:
    return client.post(SCOPE + path, json=body, params=params)


def test_several_tags_mean_all_of_them(client: httpx.Client) -> None:
    both = sorted(set(TAGS["favourites"]) & set(TAGS["firsts"]))
    assert both == [1, 2, 5]
    assert indices(client, tag=["favourites", "firsts"]) == both
    assert indices(client, tag=["favourites", "firsts"], tags_mode="all") == both
    assert indices(client, tag=["favourites", "empty"]) == []
    assert indices(client, tag=["favourites", "favourites"]) == TAGS["favourites"]


def test_tags_mode_any_is_the_union(client: httpx.Client) -> None:
    either = sorted(set(TAGS["favourites"]) | set(TAGS["firsts"]))
    assert indices(client, tag=["favourites", "firsts"], tags_mode="any") == either
    assert indices(client, tag=["favourites", "empty"], tags_mode="any") == TAGS["favourites"]
    page = client.get(SCOPE + "/rows", params={"tag": ["favourites", "firsts"], "tags_mode": "any", "limit": 5})
    assert page.json()["total"] == len(either)


@pytest.mark.parametrize("params", [{"tags_mode": "some"}, {"tag": ["favourites", "nope"]}, {"tag": ["", "firsts"]}])
def test_bad_tag_filters_are_refused(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get(SCOPE + "/rows/indices", params=params)
    assert response.status_code in (400, 404)
    assert response.json()["ok"] is False


def test_post_answers_what_get_answers(client: httpx.Client) -> None:
    query = {"tag": ["favourites", "firsts"], "tags_mode": "any", "cluster": [0, 1, 2]}
    got = client.get(SCOPE + "/rows", params={**query, "limit": 7, "offset": 2}).json()
    sent = posted(client, "/rows", {**query, "limit": 7, "offset": 2})
    assert sent.status_code == 200, sent.text
    assert sent.json() == got
    assert posted(client, "/rows/indices", query).json()["indices"] == indices(client, **query)


def test_post_carries_a_selection_too_large_for_a_url(client: httpx.Client) -> None:
    selection = list(range(0, 2 * MAX_SELECTION, 2))  # MAX_SELECTION values
    found = posted(client, "/rows/indices", {"ls_index": selection})
    assert found.status_code == 200, found.text
    total = len(client.get(SCOPE + "/rows/indices").json()["indices"])
    assert found.json()["indices"] == [i for i in selection if i < total]
    over = posted(client, "/rows/indices", {"ls_index": list(range(MAX_SELECTION + 1))})
    assert over.status_code == 400 and "max_selection" in over.json()["error"]


def test_export_by_post(client: httpx.Client) -> None:
    response = posted(client, "/export", {"tag": ["favourites", "firsts"]}, format="csv")
    assert response.status_code == 200, response.text
    frame = pd.read_csv(io.BytesIO(response.content))
    assert frame["ls_index"].tolist() == [1, 2, 5]


@pytest.mark.parametrize(
    "body, status",
    [
        ([1, 2], 400),
        ({"nope": 1}, 400),
        ({"ls_index": [1.5]}, 400),
        ({"ls_index": [True]}, 400),
        ({"cluster": {"a": 1}}, 400),
        ({"where": "not a list"}, 400),
        ({"limit": 10}, 400),  # paging belongs to rows only
    ],
)
def test_bad_bodies_are_refused(client: httpx.Client, body: Any, status: int) -> None:
    response = posted(client, "/rows/indices", body)
    assert response.status_code == status, response.text
    assert response.json()["ok"] is False


def test_body_must_be_json(client: httpx.Client) -> None:
    form = client.post(SCOPE + "/rows", content=b"tag=favourites", headers={"content-type": "text/plain"})
    assert form.status_code == 415 and form.json()["ok"] is False
    broken = client.post(SCOPE + "/rows", content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["ok"] is False
