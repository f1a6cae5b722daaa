"""Keyword search (text= with text_mode=literal|word|regex) against Python's own matching of the same rows, in every
route that takes filters, and the one-line 400s for a bad mode or an invalid pattern."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.viewer_support import copy_built, in_process, joined_rows

SCOPE = "/api/datasets/sample/scopes/scopes-001"


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("keyword") / "data")


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[httpx.Client]:
    with in_process(root) as http:
        yield http


@pytest.fixture(scope="module")
def expected(root: Path) -> pd.DataFrame:
    return joined_rows(root / "sample")


def indices(client: httpx.Client, **params: Any) -> list[int]:
    response = client.get(SCOPE + "/rows/indices", params=params)
    assert response.status_code == 200, response.text
    return response.json()["indices"]


def matching(expected: pd.DataFrame, pattern: str) -> list[int]:
    return [i for i, text in expected["text"].items() if re.search(pattern, text)]


@pytest.mark.parametrize("word", ["data", "C++", "library", "python 3"])
def test_word_mode_matches_whole_words_only(client: httpx.Client, expected: pd.DataFrame, word: str) -> None:
    phrase = r"\s+".join(re.escape(w) for w in word.split())
    want = matching(expected, rf"(?i)(?<!\w){phrase}(?!\w)")
    assert want, f"the sample has rows with the word {word!r}"
    assert indices(client, text=word, text_mode="word") == want
    literal = indices(client, text=word)
    assert set(want) <= set(literal)
    if word == "data":  # "database", "metadata" ... match the substring, not the word
        assert len(want) < len(literal)


@pytest.mark.parametrize("pattern", [r"^lib", r"\d+\.\d+", r"(?i)PYTHON|perl", r"[Gg]ames?\b", "(?i)^a.*tool"])
def test_regex_mode_matches_as_written(client: httpx.Client, expected: pd.DataFrame, pattern: str) -> None:
    want = matching(expected, pattern)
    assert want, f"the sample has rows for {pattern!r}"
    assert indices(client, text=pattern, text_mode="regex") == want


def test_literal_is_still_the_default(client: httpx.Client, expected: pd.DataFrame) -> None:
    want = [i for i, text in expected["text"].items() if ".*" in text.lower()]
    assert indices(client, text=".*") == indices(client, text=".*", text_mode="literal") == want


def test_every_filter_route_takes_the_mode(client: httpx.Client, expected: pd.DataFrame) -> None:
    want = matching(expected, r"(?i)\bgames?\b")
    params = {"text": r"\bgames?\b", "text_mode": "regex"}
    page = client.get(SCOPE + "/rows", params={**params, "limit": 500}).json()
    assert page["total"] == len(want) and [r["ls_index"] for r in page["rows"]] == matching(expected, r"\bgames?\b")
    posted = client.post(SCOPE + "/rows/indices", json={**params, "text": r"(?i)\bgames?\b"}).json()
    assert posted["indices"] == want
    exported = pd.read_csv(io.BytesIO(client.get(SCOPE + "/export", params={**params, "format": "csv"}).content))
    assert exported["ls_index"].tolist() == matching(expected, r"\bgames?\b")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"text": "a(b", "text_mode": "regex"}, ["regular expression", "missing )"]),
        ({"text": "[z-a]", "text_mode": "regex"}, ["regular expression", "range"]),
        ({"text": "x", "text_mode": "glob"}, ["text_mode", "literal, word, regex"]),
    ],
)
def test_bad_patterns_and_modes_are_400s_naming_the_problem(
    client: httpx.Client, params: dict[str, str], words: list[str]
) -> None:
    for response in (
        client.get(SCOPE + "/rows", params=params),
        client.post(SCOPE + "/rows/indices", json=params),
        client.get(SCOPE + "/export", params=params),
    ):
        body = response.json()
        assert response.status_code == 400 and all(w in body["error"] for w in words), body
        assert "\n" not in body["error"]
