"""Label: name each cluster. The offline default ranks the terms that set a cluster's documents apart.

Scoring (per cluster c, per term t, counting documents, not tokens, so one long text cannot dominate):
    score = p(t | c) * log(p(t | c) / p(t))
the term's share of the cluster's documents, weighted by how much more often it occurs there than overall.
A term that every cluster uses ("package", "contains") scores about zero; a term most of the cluster shares and
few others do ("haskell", "node js") scores high. Every cluster, noise included, is part of p(t).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ls_pipeline.params import Check, integer, param, text, validate
from ls_pipeline.stages.label.term_counts import TermCounts, class_term_presence

CODE_VERSION = "2"
KEYWORDS = "keywords"
_CONTEXT = Check(lambda v: isinstance(v, str), message="context must be a string")
_BIGRAM_SHARE = 0.9  # a bigram replaces its best word when it keeps this share of the word's score
_WORD_FLOOR = 0.3  # each word of a bigram must score this share of the cluster's best term (no "contains X")


@dataclass(frozen=True)
class LabelParams:
    labeler: str = param(
        KEYWORDS,
        "'keywords' (offline), or a chat model id (see ls-list-models)",
        text(nonempty=True, message="labeler must be 'keywords' or a chat model id (see ls-list-models)"),
        alias="model_id",
    )
    context: str = param("", "for chat labelers: what the dataset is, in your words", _CONTEXT)
    text_column: str | None = param(None, "the column whose texts name the clusters (default: the dataset's)")
    terms: int = param(2, "terms in a keyword label", integer(1, 6))
    levels: int = param(
        2, "parent levels above the clusters (0: none), from the clustering's own tree when it has one", integer(0, 3)
    )
    samples: int = param(
        20, "chat labelers: at most this many texts per cluster, nearest the centre first", integer(1, 200)
    )
    max_prompt_tokens: int = param(
        1500, "chat labelers: budget for a cluster's texts (about 4 characters a token)", integer(100, 100_000)
    )

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class ClusterLabel:
    label: str
    description: str
    terms: list[str]
    labeler: str = KEYWORDS


def keyword_labels(
    texts: Sequence[str],
    cluster: np.ndarray,
    labeled: Sequence[int],
    terms: int = 2,
    top: int = 8,
    counts: TermCounts | None = None,
) -> dict[int, ClusterLabel]:
    """A label for each cluster id in `labeled`, built from its highest-scoring distinct terms. `counts`:
    class_term_presence(texts, cluster) if the caller has it already (counting the terms is most of the cost)."""
    presence, vocabulary = counts or class_term_presence(texts, cluster)
    scores = lift_scores(presence, np.bincount(cluster, minlength=presence.shape[0]))
    return _from_scores(labeled, lambda cid: scores[cid].toarray().ravel(), vocabulary, terms, top)


def topic_labels(
    texts: Sequence[str],
    cluster: np.ndarray,
    members: dict[int, list[int]],
    terms: int = 2,
    top: int = 8,
    counts: TermCounts | None = None,
) -> dict[int, ClusterLabel]:
    """A label for each topic (a group of clusters) from the terms its clusters share. Each cluster's scores are
    scaled to its best term, then summed with weight sqrt(size): a term many clusters rank high beats one that
    only the most distinctive cluster has (a topic of ten library clusters and one Rust cluster is not "Rust")."""
    presence, vocabulary = counts or class_term_presence(texts, cluster)
    sizes = np.bincount(cluster, minlength=presence.shape[0])
    scores = lift_scores(presence, sizes)
    best = np.maximum(scores.max(axis=1).toarray().ravel(), 1e-12)
    weights = sparse.diags(np.sqrt(sizes) / best)  # scale each cluster to its best term, weight by sqrt(size)
    scaled = (weights @ scores).tocsr()

    def combined(topic: int) -> np.ndarray:
        return np.asarray(scaled[members[topic]].sum(axis=0)).ravel()

    return _from_scores(list(members), combined, vocabulary, terms, top)


def _from_scores(
    ids: Sequence[int], row: Callable[[int], np.ndarray], vocabulary: np.ndarray, terms: int, top: int
) -> dict[int, ClusterLabel]:
    """Labels from score rows, taken one at a time: a dense row per cluster is small, all of them at once is not."""
    index = {term: i for i, term in enumerate(vocabulary)}
    ranked = {cid: _distinct_terms(row(cid), vocabulary, index, top) for cid in ids}
    chosen = {cid: ranked[cid][:terms] for cid in ids}
    _make_unique(chosen, ranked)
    return {
        cid: ClusterLabel(
            label=readable(chosen[cid]) or f"Cluster {cid}",
            description=("Top terms: " + ", ".join(ranked[cid])) if ranked[cid] else "no distinctive terms",
            terms=ranked[cid],
        )
        for cid in ids
    }


def lift_scores(presence: sparse.csr_matrix, sizes: np.ndarray) -> sparse.csr_matrix:
    """p(t|c) * log(p(t|c) / p(t)) for every cluster and term, kept where positive (a term rarer in c than
    overall says nothing about c). Sparse: 600 clusters x 500k terms would not fit in memory dense."""
    sizes = np.asarray(sizes, dtype=np.float64)
    overall = np.asarray(presence.sum(axis=0)).ravel() / max(float(sizes.sum()), 1.0)
    coo = presence.tocoo()
    within = coo.data / np.maximum(sizes[coo.row], 1.0)
    score = within * np.log(within / overall[coo.col])
    keep = score > 0
    return sparse.csr_matrix((score[keep].astype(np.float32), (coo.row[keep], coo.col[keep])), shape=presence.shape)


def _distinct_terms(scores: np.ndarray, vocabulary: np.ndarray, index: dict[str, int], top: int) -> list[str]:
    """Best terms first. A bigram stands in for its word when nearly as strong ("node js" for "node"); a term
    that repeats a word already taken, singular or plural, is skipped ("games" after "game")."""
    positive = np.flatnonzero(scores > 0)
    order = positive[np.argsort(-scores[positive], kind="stable")]
    if not len(order):
        return []
    floor = _WORD_FLOOR * scores[order[0]]
    picked: list[str] = []
    seen: set[str] = set()
    for i in order:
        if len(picked) == top:
            break
        term = str(vocabulary[i])
        words = term.split()
        if len(words) > 1:
            continue  # bigrams are rare overall, so their scores run high: they only stand in for a strong word
        term = _better_bigram(term, scores[i], scores, vocabulary, index, floor) or term
        folded = {fold(w) for w in term.split()}
        if folded & seen:
            continue
        picked.append(term)
        seen |= folded
    return picked


def _better_bigram(
    word: str, score: float, scores: np.ndarray, vocabulary: np.ndarray, index: dict[str, int], floor: float
) -> str | None:
    best, best_score = None, _BIGRAM_SHARE * score
    for candidate in (t for t in vocabulary[scores > best_score] if word in t.split() and " " in t):
        other = [w for w in candidate.split() if w != word]
        if all(w in index and scores[index[w]] >= floor for w in other) and scores[index[candidate]] > best_score:
            best, best_score = str(candidate), scores[index[candidate]]
    return best


def fold(word: str) -> str:
    """A crude singular: enough to see that "games"/"game" or "libraries"/"library" say the same thing."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _make_unique(chosen: dict[int, list[str]], ranked: dict[int, list[str]]) -> None:
    """Where two clusters would get the same label, extend the later one with its next term."""
    taken: set[str] = set()
    for cid in sorted(chosen):
        extra = iter(ranked[cid][len(chosen[cid]) :])
        while readable(chosen[cid]) in taken and (term := next(extra, None)):
            chosen[cid] = [*chosen[cid], term]
        taken.add(readable(chosen[cid]))


def readable(terms: list[str]) -> str:
    text = " · ".join(terms)
    return text[:1].upper() + text[1:]


def labels_table(defaults: pd.DataFrame, labels: dict[int, ClusterLabel], parents: dict[int, int]) -> pd.DataFrame:
    """The default labels table with label, description and terms replaced where a labeler named a cluster,
    plus `labeler` (who named it) and `parent` (its topic id at level 1; -1 for noise or without levels)."""
    table = defaults.copy()
    named = [labels.get(c) for c in table["cluster"]]
    table["terms"] = [n.terms if n else [] for n in named]
    table["label"] = [n.label if n else old for n, old in zip(named, table["label"], strict=True)]
    table["description"] = [n.description if n else old for n, old in zip(named, table["description"], strict=True)]
    table["labeler"] = [n.labeler if n else "" for n in named]
    table["parent"] = np.array([parents.get(int(c), -1) for c in table["cluster"]], dtype=np.int32)
    return table
