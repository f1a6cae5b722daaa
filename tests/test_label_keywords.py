"""The offline keyword labeler on real Debian descriptions: readable, distinct, grounded in each cluster."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ls_pipeline.errors import UserError
from ls_pipeline.stages.label import LabelParams, keyword_labels, labels_table
from tests.conftest import DEMO
from tests.labels_data import fine_copy

SECTIONS = ["python", "perl", "haskell", "javascript", "rust", "golang", "ruby", "games", "php", "sound", "ocaml"]


@pytest.fixture(scope="module")
def by_section() -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """Real rows of eleven Debian sections plus every other section as a twelfth, noisy group."""
    rows = pd.read_parquet(DEMO)
    group = rows["section"].map({s: i for i, s in enumerate(SECTIONS)}).fillna(len(SECTIONS)).astype(int)
    return rows["text"].tolist(), group.to_numpy(), rows


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_][^\W_]+", text.lower()))


def test_labels_name_the_section(by_section: tuple[list[str], np.ndarray, pd.DataFrame]) -> None:
    texts, group, _ = by_section
    labels = keyword_labels(texts, group, list(range(len(SECTIONS))))
    for cid, section in enumerate(SECTIONS):
        words = {"games": ("game",), "sound": ("audio", "sound")}.get(section, (section,))
        assert any(word in labels[cid].label.lower() for word in words), (section, labels[cid].label)


def test_labels_are_distinct_readable_and_from_their_cluster(
    by_section: tuple[list[str], np.ndarray, pd.DataFrame],
) -> None:
    texts, group, _ = by_section
    ids = list(range(len(SECTIONS) + 1))
    labels = keyword_labels(texts, group, ids, terms=2)
    assert len({label.label for label in labels.values()}) == len(ids)
    for cid, label in labels.items():
        assert label.label and label.label[0].isupper() and label.label.count(" · ") == 1
        members = set().union(*(_words(texts[i]) for i in np.flatnonzero(group == cid)))
        assert _words(label.label) <= members, (cid, label.label)
        assert label.description.startswith("Top terms: ") and len(label.terms) >= 2
        assert not re.search(r"\b(com|https?|www|github)\b", " ".join(label.terms))  # links are not words


@pytest.mark.numeric
def test_labels_on_a_real_clustering(built_data: dict[str, Any], tmp_path: Path) -> None:
    """The pipeline's own clusters of 300 rows: every cluster named, names distinct and from its own texts."""
    data, cluster_id = fine_copy(built_data, tmp_path / "data")
    ds = data.dataset("sample")
    texts = pd.read_parquet(ds.input_path)["text"].tolist()
    assigned = pd.read_parquet(ds.file("cluster", cluster_id, ".parquet"))["cluster"].to_numpy()
    defaults = pd.read_parquet(ds.file("cluster", f"{cluster_id}-labels-default", ".parquet"))
    named = defaults.loc[~defaults["noise"], "cluster"].tolist()
    labels = keyword_labels(texts, assigned, named)
    assert len(named) >= 6 and len({labels[c].label for c in named}) == len(named)
    for cid in named:
        members = set().union(*(_words(texts[i]) for i in np.flatnonzero(assigned == cid)))
        assert not labels[cid].label.startswith("Cluster ") and _words(labels[cid].label) <= members
    table = labels_table(defaults, labels, {c: 0 for c in named})
    assert (table.loc[table["noise"], "label"] == "Unclustered").all()
    assert (table.loc[table["noise"], "parent"] == -1).all() and set(table.loc[~table["noise"], "parent"]) == {0}


def test_same_input_same_labels(by_section: tuple[list[str], np.ndarray, pd.DataFrame]) -> None:
    texts, group, _ = by_section
    first = keyword_labels(texts, group, [0, 1, 2])
    assert first == keyword_labels(list(texts), group.copy(), [0, 1, 2])


def test_degenerate_texts_get_a_fallback_name() -> None:
    labels = keyword_labels(["the", "a", "of", "it"], np.array([0, 0, 1, 1]), [0, 1])
    assert [labels[0].label, labels[1].label] == ["Cluster 0", "Cluster 1"]
    assert labels[0].description == "no distinctive terms"


@pytest.mark.parametrize(
    "bad", [{"terms": 0}, {"levels": 4}, {"samples": 0}, {"max_prompt_tokens": 10}, {"labeler": ""}]
)
def test_bad_params_are_user_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(UserError):
        LabelParams(**bad)
