"""The labelers' term counts: what scikit-learn's CountVectorizer counts (the labels' reference before the counter
was ours), on real Debian descriptions with duplicates, links, mail addresses and words that are no words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from ls_pipeline.stages.label.term_counts import LINKS, WORD, class_term_presence, words
from tests.conftest import DEMO

ODD = [
    "See https://example.org/a/b or www.example.com, mail dev@example.org; the example.org/x path",
    "Ünïcödé wörds: Straße, ĲSSEL, naïve café, x² and Ⅻ, 3d models, foo_bar, snake_case, v2 abc123",
    "GNU/Linux tools, gnu/linux tools and GNU Linux tools",
    "",
    "the a of",  # stop words only
]


def _reference(texts: list[str], cluster: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray]:
    vectorizer = CountVectorizer(
        stop_words="english",
        ngram_range=(1, longest),
        min_df=2,
        token_pattern=WORD.pattern,
        binary=True,
        preprocessor=lambda text: LINKS.sub(" ", text.lower()),
        dtype=np.float32,
    )
    doc_terms = vectorizer.fit_transform(texts)
    membership = sparse.csr_matrix((np.ones(len(cluster)), (cluster, np.arange(len(cluster)))))
    return (membership @ doc_terms).toarray(), vectorizer.get_feature_names_out()


@pytest.mark.parametrize("longest", [2, 3])
def test_counts_and_vocabulary_are_count_vectorizers(longest: int) -> None:
    rows = pd.read_parquet(DEMO, columns=["section", "text"]).head(600)
    texts = rows["text"].tolist() + ODD * 2 + rows["text"].head(40).tolist()  # repeats, some in other clusters
    cluster = np.concatenate([pd.factorize(rows["section"])[0] % 9, np.arange(2 * len(ODD)) % 3, np.full(40, 9)])
    expected, vocabulary = _reference(texts, cluster, longest)
    presence, ours = class_term_presence(texts, cluster, longest)
    assert ours.tolist() == vocabulary.tolist()
    assert presence.dtype == np.float32 and np.array_equal(presence.toarray(), expected)
    assert words(ODD[0]) == ["see", "or", "mail", "the", "path"]  # links and mail addresses are no words
    assert {"straße", "ünïcödé", "naïve café", "gnu linux", "v2"} <= set(ours)
    assert ("gnu linux tools" in ours) == (longest == 3)
    assert words(ODD[1])[-5:] == ["x²", "and", "models", "v2", "abc123"]  # no "3d", "foo_bar" or "snake_case"


def test_a_repeated_text_counts_once_for_each_row_it_is() -> None:
    texts = ["rust crate serde", "rust crate serde", "rust crate serde", "python module"]
    presence, vocabulary = class_term_presence(texts, np.array([0, 0, 1, 1]), longest=2)
    column = {term: i for i, term in enumerate(vocabulary)}
    assert presence[0, column["rust crate"]] == 2 and presence[1, column["rust crate"]] == 1
    assert "python" not in column  # in one row only: no term (min_df 2)


def test_texts_without_words_give_an_empty_vocabulary() -> None:
    presence, vocabulary = class_term_presence(["the a", "", "of it"], np.array([0, 1, 1]), longest=3)
    assert presence.shape == (2, 0) and len(vocabulary) == 0
