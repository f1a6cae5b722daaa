"""Label: name each cluster. The offline default is class-based TF-IDF: the terms that set a cluster apart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ls_pipeline.errors import UserError

CODE_VERSION = "1"
KEYWORDS = "keywords"
_WORD = r"(?u)\b[^\W\d_][^\W_]+\b"  # words of 2+ characters that start with a letter


@dataclass(frozen=True)
class LabelParams:
    labeler: str = KEYWORDS  # "keywords", or a chat model id (LLM labelers)
    context: str = ""
    text_column: str | None = None
    terms: int = 2  # terms in a keyword label

    def __post_init__(self) -> None:
        if not isinstance(self.terms, int) or not 1 <= self.terms <= 6:
            raise UserError(f"terms must be an integer from 1 to 6, got {self.terms!r}")
        if not self.labeler or not isinstance(self.labeler, str):
            raise UserError("labeler must be 'keywords' or a chat model id")


@dataclass(frozen=True)
class ClusterLabel:
    label: str
    description: str
    terms: list[str]


def keyword_labels(
    texts: Sequence[str], cluster: np.ndarray, labeled: Sequence[int], terms: int = 2, top: int = 8
) -> dict[int, ClusterLabel]:
    """A label for each cluster id in `labeled`, built from its highest-scoring distinct terms.

    Every cluster (noise too) takes part in the contrast, so a term common to all of them scores low.
    """
    counts, vocabulary = class_term_counts(texts, cluster)
    scores = c_tf_idf(counts)
    ranked = {cid: _distinct_terms(scores[cid], vocabulary, top) for cid in labeled}
    chosen = {cid: ranked[cid][:terms] for cid in labeled}
    _make_unique(chosen, ranked)
    return {
        cid: ClusterLabel(
            label=_readable(chosen[cid]) or f"Cluster {cid}",
            description=("Top terms: " + ", ".join(ranked[cid])) if ranked[cid] else "no distinctive terms",
            terms=ranked[cid],
        )
        for cid in labeled
    }


def class_term_counts(texts: Sequence[str], cluster: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Term counts summed per cluster (rows: cluster ids 0..max), and the vocabulary."""
    from sklearn.feature_extraction.text import CountVectorizer  # ~8 s to import on a busy machine: only when used

    vectorizer = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=2, token_pattern=_WORD, lowercase=True, dtype=np.float32
    )
    try:
        doc_terms = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: texts too short or all stop words
        doc_terms = sparse.csr_matrix((len(texts), 0), dtype=np.float32)
    n_classes = int(cluster.max(initial=-1)) + 1
    membership = sparse.csr_matrix(
        (np.ones(len(cluster), dtype=np.float32), (cluster, np.arange(len(cluster)))), shape=(n_classes, len(cluster))
    )
    vocabulary = vectorizer.get_feature_names_out() if doc_terms.shape[1] else np.array([], dtype=object)
    return (membership @ doc_terms).tocsr(), vocabulary


def c_tf_idf(counts: sparse.csr_matrix) -> np.ndarray:
    """BERTopic-style c-TF-IDF: term frequency within the class times log(1 + average class size / term total)."""
    dense = counts.toarray()
    per_class = dense.sum(axis=1, keepdims=True)
    tf = np.divide(dense, per_class, out=np.zeros_like(dense), where=per_class > 0)
    term_totals = dense.sum(axis=0)
    average = per_class.mean() if len(per_class) else 0.0
    idf = np.log1p(np.divide(average, term_totals, out=np.zeros_like(term_totals), where=term_totals > 0))
    return tf * idf


def _distinct_terms(scores: np.ndarray, vocabulary: np.ndarray, top: int) -> list[str]:
    """Best terms first, skipping any that repeats a word already taken ("python" after "python testing")."""
    picked: list[str] = []
    seen: set[str] = set()
    for index in np.argsort(-scores, kind="stable"):
        if scores[index] <= 0 or len(picked) == top:
            break
        words = set(vocabulary[index].split())
        if words & seen:
            continue
        picked.append(str(vocabulary[index]))
        seen |= words
    return picked


def _make_unique(chosen: dict[int, list[str]], ranked: dict[int, list[str]]) -> None:
    """Where two clusters would get the same label, extend the later one with its next term."""
    taken: set[str] = set()
    for cid in sorted(chosen):
        extra = iter(ranked[cid][len(chosen[cid]) :])
        while _readable(chosen[cid]) in taken and (term := next(extra, None)):
            chosen[cid] = [*chosen[cid], term]
        taken.add(_readable(chosen[cid]))


def _readable(terms: list[str]) -> str:
    text = " · ".join(terms)
    return text[:1].upper() + text[1:]


def labels_table(defaults: pd.DataFrame, labels: dict[int, ClusterLabel]) -> pd.DataFrame:
    """The default labels table with label, description and terms replaced where a labeler named a cluster."""
    table = defaults.copy()
    named = [labels.get(c) for c in table["cluster"]]
    table["terms"] = [n.terms if n else [] for n in named]
    table["label"] = [n.label if n else old for n, old in zip(named, table["label"], strict=True)]
    table["description"] = [n.description if n else old for n, old in zip(named, table["description"], strict=True)]
    return table
