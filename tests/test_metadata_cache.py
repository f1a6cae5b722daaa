"""The short-lived metadata answers (ls_pipeline/store/metadata_cache.py) on a clock the test moves: kept for the TTL
and not a moment longer, "not found" kept like any answer, a clear() drops everything and refuses an answer fetched
before it, and the bound holds; the setting's default and range."""

from __future__ import annotations

import pytest

from ls_pipeline.errors import UserError
from ls_pipeline.store.metadata_cache import Answers
from viewer.settings import METADATA_TTL_ENV, config_from_env


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_kept_for_the_ttl_only() -> None:
    clock = Clock()
    answers = Answers(2.0, clock=clock)
    answers.put("k", {"ETag": "a"}, answers.generation())
    clock.now += 1.99
    assert answers.get("k") == (True, {"ETag": "a"})
    clock.now += 0.01
    assert answers.get("k") == (False, None)
    assert len(answers) == 0  # an expired answer is dropped, not kept forever


def test_not_found_is_an_answer_too() -> None:
    answers = Answers(2.0, clock=Clock())
    missing = FileNotFoundError("bucket/data/nope/meta.json")
    answers.put("k", missing, answers.generation())
    assert answers.get("k") == (True, missing)


def test_clear_drops_everything_and_refuses_an_answer_fetched_before_it() -> None:
    answers = Answers(2.0, clock=Clock())
    answers.put("a", 1, answers.generation())
    before_the_write = answers.generation()  # a read that started before this server's write
    answers.clear()  # the write
    answers.put("b", "old", before_the_write)  # its answer may predate the write: not kept
    assert answers.get("a") == (False, None)
    assert answers.get("b") == (False, None)
    answers.put("b", "new", answers.generation())
    assert answers.get("b") == (True, "new")


def test_forget_drops_one_answer() -> None:
    answers = Answers(2.0, clock=Clock())
    answers.put("a", 1, answers.generation())
    answers.put("b", 2, answers.generation())
    answers.forget("a")
    assert answers.get("a") == (False, None)
    assert answers.get("b") == (True, 2)


def test_the_oldest_answers_go_beyond_the_bound() -> None:
    answers = Answers(2.0, max_entries=3, clock=Clock())
    for n in range(5):
        answers.put(n, n, answers.generation())
    assert len(answers) == 3
    assert [answers.get(n)[0] for n in range(5)] == [False, False, True, True, True]


def test_the_ttl_setting() -> None:
    assert config_from_env({}).store_metadata_ttl_s == 2.0
    assert config_from_env({METADATA_TTL_ENV: "0"}).store_metadata_ttl_s == 0.0  # off: every request asks
    assert config_from_env({METADATA_TTL_ENV: "0.5"}).store_metadata_ttl_s == 0.5
    for bad in ("-1", "61", "soon"):
        with pytest.raises(UserError, match=METADATA_TTL_ENV):
            config_from_env({METADATA_TTL_ENV: bad})
