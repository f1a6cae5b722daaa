"""What an LLM labeler is shown and how its answer is read (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from ls_pipeline.stages.label import prompt as lp


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ('{"label": "Rust crates", "description": "Rust libraries packaged for Debian."}', "Rust crates"),
        ('Sure!\n```json\n{"label": "Fonts", "description": "Typefaces."}\n```', "Fonts"),
        ('{"title": "  \\"Games\\"  ", "description": 3}', "Games"),
    ],
)
def test_answers_are_read_through_chatter_and_fences(reply: str, label: str) -> None:
    parsed = lp.parse_label(reply)
    assert parsed is not None and parsed["label"] == label and isinstance(parsed["description"], str)


@pytest.mark.parametrize(
    "reply",
    ["I think these are about fonts.", '{"label": broken', '["Fonts"]', '{"label": ""}', '{"label": "Cluster"}'],
)
def test_unusable_answers_are_none(reply: str) -> None:
    assert lp.parse_label(reply) is None


def test_long_labels_are_cut_at_a_word() -> None:
    parsed = lp.parse_label('{"label": "' + "word " * 40 + '", "description": "d"}')
    assert parsed is not None and len(parsed["label"]) <= lp.MAX_LABEL_CHARS + 1 and parsed["label"].endswith("…")


def test_texts_within_budget_are_distinct_tidy_and_bounded() -> None:
    texts = ["a  b\nc", "a b c", "x" * 5000, "short one", "another"]
    kept = lp.within_budget(texts, samples=10, max_tokens=300)
    assert kept[0] == "a b c" and kept.count("a b c") == 1  # duplicates after tidying count once
    assert len(kept[1]) <= lp.MAX_TEXT_CHARS + 2 and sum(map(len, kept)) <= 300 * lp.CHARS_PER_TOKEN
    assert lp.within_budget(texts, samples=2, max_tokens=10_000) == ["a b c", kept[1]]


def test_nearest_to_centre_puts_typical_rows_first() -> None:
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.95, 0.05], [1, 0]], dtype=np.float32)
    members = np.array([0, 1, 2, 3])
    order = lp.nearest_to_centre(vectors, members, limit=4).tolist()
    assert order[-1] == 2 and set(order) == {0, 1, 2, 3}


def test_prompt_carries_context_texts_and_terms() -> None:
    messages = lp.cluster_messages(["first text", "second text"], ["rust", "crate"], "Debian packages")
    user = messages[-1]["content"]
    assert messages[0]["role"] == "system" and "JSON" in messages[0]["content"]
    assert "Dataset: Debian packages" in user and "1. first text" in user and "rust, crate" in user
    assert lp.estimate_tokens(messages) > len(user) // 4
    parent = lp.parent_messages(["Rust crates", "Go modules"], ["a text"], "")
    assert "- Rust crates" in parent[-1]["content"] and "Dataset:" not in parent[-1]["content"]
