"""The offline default labeler: c-TF-IDF phrases re-ranked by the local model, on real Debian descriptions."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
from ls_pipeline.stages.label.generic import GENERIC_WORDS
from ls_pipeline.stages.label.keyphrases import (
    centres_from_texts,
    cluster_centres,
    keyphrase_names,
    names_a_topic,
    pick,
)

SECTIONS = ["perl", "python", "rust", "haskell", "javascript", "golang", "ruby"]  # 7 to 25 rows each in the sample


@pytest.fixture(scope="module")
def sections(built_data: dict[str, Any]) -> dict[str, Any]:
    """The session's 300 embedded demo rows: seven language sections as clusters, every other row an eighth, noisy
    one; the vectors are the local model's own (the small recipe embeds with it)."""
    ds = built_data["data"].dataset("sample")
    rows = pd.read_parquet(ds.input_path)
    group = rows["section"].map({s: i for i, s in enumerate(SECTIONS)}).fillna(len(SECTIONS)).astype(int).to_numpy()
    vectors = steps.read_embeddings(ds, built_data["ids"]["embedding"])
    return {
        "texts": rows["text"].tolist(),
        "group": group,
        "vectors": vectors,
        "embed": load_embedder(DEFAULT_MODEL).embed,
    }


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_][^\W_]+", text.lower()))


def test_labels_name_the_section_in_the_clusters_own_words(sections: dict[str, Any]) -> None:
    texts, group = sections["texts"], sections["group"]
    ids = list(range(len(SECTIONS) + 1))
    names, _ = keyphrase_names(texts, group, ids, [], cluster_centres(sections["vectors"], group), sections["embed"])
    named = sum(
        any(w in names[cid].label.lower() for w in {"golang": ("go",)}.get(s, (s,))) for cid, s in enumerate(SECTIONS)
    )
    assert named >= 4, {SECTIONS[c]: names[c].label for c in range(len(SECTIONS))}
    assert len({n.label for n in names.values()}) == len(ids)
    for cid, name in names.items():
        assert name.label[0].isupper() and name.label.count(" · ") == 1 and name.description.startswith("Top terms: ")
        assert _words(name.label) <= set().union(*(_words(texts[i]) for i in np.flatnonzero(group == cid)))
        for phrase in name.label.lower().split(" · "):
            words = phrase.split()
            assert 1 <= len(words) <= 3 and not set(words) & GENERIC_WORDS


def test_a_topic_never_takes_a_childs_label(sections: dict[str, Any]) -> None:
    """Topic 1 holds one cluster only, so its own best phrases are its child's: it must still read differently."""
    texts, group = sections["texts"], sections["group"]
    ids = list(range(len(SECTIONS)))
    maps = [{**{c: 0 for c in ids[:-1]}, ids[-1]: 1}, {0: 0, 1: 0}]
    centres = cluster_centres(sections["vectors"], group)
    names, topics = keyphrase_names(texts, group, ids, maps, centres, sections["embed"])
    assert topics[0][1].label != names[ids[-1]].label and topics[0][1].label != "Cluster 1"
    assert topics[1][0].label not in {topics[0][0].label, topics[0][1].label}


def test_no_phrase_holds_a_word_that_names_no_topic_and_labels_stay_short() -> None:
    assert not names_a_topic("used") and not names_a_topic("good manner") and not names_a_topic("package provides docs")
    assert names_a_topic("haskell") and names_a_topic("music player") and names_a_topic("game chess")
    assert pick(["python", "library", "module"], 2, [frozenset({"python", "library"})]) == ["python", "module"]
    long = ["haskell programming language", "compiled profiling information", "ghc"]
    assert pick(long, 2, []) == ["haskell programming language", "ghc"]


def test_centres_from_another_models_vectors_come_from_the_local_model(sections: dict[str, Any]) -> None:
    """Vectors from another model (a seeded random projection stands in for one): the centres the phrases are
    compared with are still the local model's, from each cluster's most central texts."""
    texts, group, vectors = sections["texts"], sections["group"], sections["vectors"]
    foreign = vectors @ np.random.default_rng(0).normal(size=(vectors.shape[1], 64)).astype(np.float32)
    centres = centres_from_texts(texts, foreign, group, sections["embed"])
    truth = cluster_centres(vectors, group)
    cosine = (centres * truth).sum(axis=1) / np.linalg.norm(centres, axis=1) / np.linalg.norm(truth, axis=1)
    assert centres.shape == truth.shape and cosine.min() > 0.8, cosine
