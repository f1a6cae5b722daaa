"""Keyphrase labels, the offline default: what a cluster (or a topic of clusters) is about, in its own words.

1. Candidates: the phrases of one to three words that c-TF-IDF ranks highest for the group (the share of the group's
   term occurrences that are this phrase, times log(1 + average occurrences per group / the phrase's occurrences
   everywhere), counting documents, so one long text cannot dominate). A phrase must occur in two of the group's
   rows, and may not hold a word that names no topic (generic.py) or one found in a tenth of all rows.
2. Re-ranked by meaning: a local embedding model (the offline default, whatever model made the map's vectors)
   places each candidate beside the group's texts; a phrase close to their mean, and less close to the whole data's,
   says what they share and others do not.
3. Chosen for diversity (maximal marginal relevance): each next term is the one most relevant after a penalty for
   its likeness to the terms already taken, so a label does not say one thing twice ("Haskell · Haskell library").
A topic above clusters is labelled the same way from its clusters' rows, and never with one of its children's labels.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import sparse

from ls_pipeline.stages.label import ClusterLabel, class_term_presence, fold, readable
from ls_pipeline.stages.label.generic import GENERIC_WORDS

VERSION = "1"  # in the keyword labels' fingerprint: a change here relabels, old labels keep theirs
Embed = Callable[[list[str]], np.ndarray]  # texts -> unit vectors, one row each (batched as the callee likes)
CANDIDATES = 20  # c-TF-IDF's best phrases per group that the embedding model re-ranks
DIVERSITY = 0.3  # maximal marginal relevance: 0 ranks by relevance alone, 1 by unlikeness alone
BACKGROUND = 0.5  # how much a phrase's closeness to the whole data's mean counts against it
COMMON = 0.05  # a word in more than this share of all rows is no candidate's
PRIOR = 0.1  # how much a phrase's c-TF-IDF (a share of its group's best) adds to its relevance
MIN_ROWS = 2  # a candidate occurs in at least this many of the group's rows (a group that small: in one)
LABEL_CHARS = 36  # a label longer than this is taken only when no shorter one is free: the map has room for few


def ctfidf_factors(presence: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """c-TF-IDF per group (row) and phrase (column) from document counts is presence x row factor x column factor:
    tf is the phrase's share of the group's occurrences, idf log(1 + A / f) with A the average occurrences per group
    and f the phrase's everywhere. Kept as factors: a million rows' phrases times a thousand groups is many scores."""
    totals = np.asarray(presence.sum(axis=1)).ravel()
    everywhere = np.asarray(presence.sum(axis=0)).ravel()
    average = float(totals.mean()) if len(totals) else 0.0
    return 1.0 / np.maximum(totals, 1.0), np.log1p(average / np.maximum(everywhere, 1.0))


def names_a_topic(phrase: str, common: frozenset[str] = frozenset()) -> bool:
    """No word of the phrase names no topic (generic.py), nor is so common in this data that it names no group."""
    return not any(word in GENERIC_WORDS or word in common for word in phrase.split())


def common_words(presence: sparse.csr_matrix, vocabulary: np.ndarray, rows: int) -> frozenset[str]:
    """The single words found in more than COMMON of all rows and spread over the clusters, none of which holds a
    third of them ("package", "library" in a software catalogue; not "perl", however many rows its topic has)."""
    total = np.asarray(presence.sum(axis=0)).ravel()
    most = np.asarray(presence.max(axis=0).todense()).ravel() if presence.shape[0] else np.zeros_like(total)
    spread = (total / max(rows, 1) > COMMON) & (most < total / 3)
    return frozenset(str(vocabulary[i]) for i in np.flatnonzero(spread) if " " not in str(vocabulary[i]))


def candidates(
    columns: np.ndarray, scores: np.ndarray, rows: np.ndarray, vocabulary: np.ndarray, size: int, common: frozenset[str]
) -> np.ndarray:
    """The group's best phrases by c-TF-IDF that name a topic and occur in enough of its rows: their places in
    `columns`, the vocabulary columns the group's row holds (ascending), with their `scores` and `rows`."""
    least = min(MIN_ROWS, max(1, size // 2))
    eligible = np.flatnonzero((scores > 0) & (rows >= least))
    order = eligible[np.argsort(-scores[eligible], kind="stable")]  # ties: vocabulary order
    picked: list[int] = []
    for i in order:
        if names_a_topic(str(vocabulary[columns[i]]), common):
            picked.append(int(i))
            if len(picked) == CANDIDATES:
                break
    return np.array(picked, dtype=np.int64)


def rank(
    phrases: list[str], vectors: np.ndarray, centre: np.ndarray, everything: np.ndarray, prior: np.ndarray, top: int
) -> list[str]:
    """Up to `top` phrases in maximal-marginal-relevance order; a phrase is relevant as far as it is closer to the
    group's mean vector `centre` than to the whole data's, `everything` (what every cluster says, "library" in a
    software catalogue, names none). A phrase repeating a word already taken (singular or plural) is passed over."""
    if not phrases:
        return []
    relevance = vectors @ _unit(centre) - BACKGROUND * (vectors @ _unit(everything)) + PRIOR * prior
    likeness = vectors @ vectors.T
    chosen: list[int] = []
    seen: set[str] = set()
    left = list(range(len(phrases)))
    while left and len(chosen) < top:
        penalty = likeness[np.ix_(left, chosen)].max(axis=1) if chosen else np.zeros(len(left))
        merit = (1 - DIVERSITY) * relevance[left] - DIVERSITY * penalty
        best = left[int(np.argmax(merit))]
        left.remove(best)
        folded = {fold(w) for w in phrases[best].split()}
        if folded & seen:
            continue
        chosen.append(best)
        seen |= folded
    return [phrases[i] for i in chosen]


def group_labels(
    presence: sparse.csr_matrix,
    vocabulary: np.ndarray,
    sizes: np.ndarray,
    centres: np.ndarray,
    groups: Mapping[int, Sequence[int]],
    embed: Embed,
    common: frozenset[str],
    top: int = 8,
) -> dict[int, list[str]]:
    """Ranked phrases per group; a group is a list of cluster ids (rows of `presence`, `sizes`, `centres`: one per
    cluster id). Clusters in no group count as the rest of the data, so a phrase common there is no group's.
    `common`: common_words(presence, vocabulary, rows)."""
    ids = list(groups)
    membership = np.zeros((len(ids) + 1, presence.shape[0]), dtype=np.float32)
    for row, gid in enumerate(ids):
        membership[row, list(groups[gid])] = 1.0
    membership[len(ids), membership[: len(ids)].sum(axis=0) == 0] = 1.0  # the rest: one more group
    grouped = (sparse.csr_matrix(membership) @ presence).tocsr()
    grouped.sort_indices()
    tf, idf = ctfidf_factors(grouped)
    found = {}
    for row, gid in enumerate(ids):
        span = slice(grouped.indptr[row], grouped.indptr[row + 1])
        columns, rows = grouped.indices[span], grouped.data[span]
        scores = rows.astype(np.float64) * tf[row] * idf[columns]
        picked = candidates(columns, scores, rows, vocabulary, _size(sizes, groups[gid]), common)
        found[gid] = ([str(vocabulary[columns[i]]) for i in picked], scores[picked])
    phrases = sorted({p for listed, _ in found.values() for p in listed})
    vectors = dict(zip(phrases, embed(phrases) if phrases else [], strict=True))
    everything = (sizes[:, None] * centres).sum(axis=0)
    ranked = {}
    for gid in ids:
        members = list(groups[gid])
        centre = (sizes[members, None] * centres[members]).sum(axis=0)
        listed, scores = found[gid]
        if not listed:
            ranked[gid] = []
            continue
        prior = scores / max(float(scores.max(initial=0.0)), 1e-12)  # a share of the best listed phrase's
        ranked[gid] = rank(listed, np.array([vectors[p] for p in listed]), centre, everything, prior, top)
    return ranked


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _size(sizes: np.ndarray, members: Sequence[int]) -> int:
    return int(sizes[list(members)].sum())


def pick(ranked: list[str], terms: int, taken: Sequence[frozenset[str]]) -> list[str]:
    """The first `terms` ranked phrases, in rank order, whose set is not taken (a child's label, or a sibling's)
    and that read in at most LABEL_CHARS; else the first free set of any length; else a free set of fewer phrases;
    else the best `terms` with one more phrase where there is one."""
    for size in range(min(terms, len(ranked)), 0, -1):  # fewer phrases only when every set of `terms` is taken
        combinations = list(itertools.combinations(ranked, size))
        for fits in (lambda c: len(" · ".join(c)) <= LABEL_CHARS, lambda c: True):
            for combination in combinations:
                if frozenset(combination) not in taken and fits(combination):
                    return list(combination)
    return ranked[: terms + 1] if len(ranked) > terms else ranked[:terms]


def cluster_centres(vectors: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """The mean vector of each cluster id 0..max (zeros for an id without rows)."""
    n = int(cluster.max(initial=-1)) + 1
    membership = sparse.csr_matrix((np.ones(len(cluster)), (cluster, np.arange(len(cluster)))), shape=(n, len(cluster)))
    counts = np.bincount(cluster, minlength=n)
    return (np.asarray(membership @ vectors) / np.maximum(counts, 1)[:, None]).astype(np.float32)


def centres_from_texts(
    texts: Sequence[str], vectors: np.ndarray, cluster: np.ndarray, embed: Embed, samples: int = 16
) -> np.ndarray:
    """Each cluster's mean vector under `embed`'s model, from its `samples` texts nearest its centre in `vectors`
    (the map's own vectors, from another model): what the re-ranking compares phrases with."""
    n = int(cluster.max(initial=-1)) + 1
    picked = [_nearest(vectors, np.flatnonzero(cluster == cid), samples) for cid in range(n)]
    rows = np.concatenate(picked) if picked else np.array([], dtype=np.int64)
    embedded = embed([texts[i] for i in rows]) if len(rows) else np.zeros((0, 1), dtype=np.float32)
    owner = np.repeat(np.arange(n), [len(p) for p in picked])
    return cluster_centres(embedded, owner) if len(rows) else np.zeros((n, 1), dtype=np.float32)


def _nearest(vectors: np.ndarray, members: np.ndarray, limit: int) -> np.ndarray:
    centre = vectors[members].mean(axis=0)
    return members[np.argsort(-(vectors[members] @ centre), kind="stable")[:limit]]


def keyphrase_names(
    texts: Sequence[str],
    cluster: np.ndarray,
    labeled: Sequence[int],
    maps: Sequence[Mapping[int, int]],
    centres: np.ndarray,
    embed: Embed,
    terms: int = 2,
) -> tuple[dict[int, ClusterLabel], list[dict[int, ClusterLabel]]]:
    """Labels for the clusters in `labeled` and for the topics of each level in `maps` (levels.hierarchy's form);
    `centres`: each cluster id's mean vector under `embed`'s model. Labels are distinct within a level, and no
    topic takes the label of one of its children."""
    presence, vocabulary = class_term_presence(texts, cluster, longest=3)
    sizes = np.bincount(cluster, minlength=presence.shape[0])
    common = common_words(presence, vocabulary, int(sizes.sum()))
    embed = _remembering(embed)  # a topic's candidates are mostly its clusters': embed each phrase once
    ranked = group_labels(presence, vocabulary, sizes, centres, {c: [c] for c in labeled}, embed, common)
    chosen = _choose(ranked, terms, {})
    names = _named(ranked, chosen)
    topic_names = []
    members = {c: [c] for c in labeled}  # each group's clusters, one level at a time
    for mapping in maps:
        children = {t: [g for g, p in mapping.items() if p == t] for t in sorted(set(mapping.values()))}
        groups = {t: [c for g in kids for c in members[g]] for t, kids in children.items()}
        ranked = group_labels(presence, vocabulary, sizes, centres, groups, embed, common)
        below = {t: [frozenset(chosen[g]) for g in kids] for t, kids in children.items()}
        chosen = _choose(ranked, terms, below)
        topic_names.append(_named(ranked, chosen))
        members = groups
    return names, topic_names


def _remembering(embed: Embed) -> Embed:
    known: dict[str, np.ndarray] = {}

    def embed_new(texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:
            known.update(zip(new, embed(new), strict=True))
        return np.array([known[t] for t in texts])

    return embed_new


def _choose(
    ranked: dict[int, list[str]], terms: int, forbidden: Mapping[int, list[frozenset[str]]]
) -> dict[int, list[str]]:
    taken: list[frozenset[str]] = []
    chosen = {}
    for gid in sorted(ranked):
        chosen[gid] = pick(ranked[gid], terms, [*taken, *forbidden.get(gid, [])])
        taken.append(frozenset(chosen[gid]))
    return chosen


def _named(ranked: dict[int, list[str]], chosen: dict[int, list[str]]) -> dict[int, ClusterLabel]:
    return {
        gid: ClusterLabel(
            label=readable(chosen[gid]) or f"Cluster {gid}",
            description=("Top terms: " + ", ".join(ranked[gid])) if ranked[gid] else "no distinctive terms",
            terms=ranked[gid],
        )
        for gid in ranked
    }
