"""Term counts for the offline labelers: per cluster, in how many of its rows each phrase of one to `longest` words
occurs. Pure.

The terms are those of scikit-learn's CountVectorizer with binary counts, English stop words, min_df 2 and our token
pattern (words of two or more characters that start with a letter, links and mail addresses removed first), the
vocabulary sorted the same way: the labels do not change with the counter. What is ours is the counting: each
distinct text is read once (a million rows often hold far fewer distinct texts), the words are numbered once, and
the phrases are formed and counted on those numbers in numpy instead of one Python string per phrase and row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

TermCounts = tuple[sparse.csr_matrix, np.ndarray]  # (presence: clusters x terms, vocabulary: the terms, sorted)

WORD = re.compile(r"(?u)\b[^\W\d_][^\W_]+\b")  # words of 2+ characters that start with a letter
# Links, paths and mail addresses split into junk words (github, com, https); drop them before counting.
LINKS = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\w+|\b[\w-]+(?:\.[\w-]+)+/\S*")
MIN_ROWS = 2  # a term found in fewer rows than this, in all the data, is no term (CountVectorizer's min_df)


def words(text: str) -> list[str]:
    """A text's words, lowercased, links and mail addresses left out (each of them holds a '/' or an '@')."""
    text = text.lower()
    if "/" in text or "@" in text or "www." in text:
        text = LINKS.sub(" ", text)
    return WORD.findall(text)


def class_term_presence(texts: Sequence[str], cluster: np.ndarray, longest: int = 2) -> TermCounts:
    """Per cluster id 0..max, in how many of its rows each term (of up to `longest` words) occurs; and the
    vocabulary, sorted."""
    n_classes = int(cluster.max(initial=-1)) + 1
    inverse, distinct = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=False)
    # rows of each distinct text in each cluster: one distinct text may sit in several clusters
    owners = sparse.csr_matrix(
        (np.ones(len(inverse), dtype=np.float32), (cluster, inverse)), shape=(n_classes, len(distinct))
    )
    doc_terms, vocabulary = _distinct_text_terms(distinct, longest, np.bincount(inverse, minlength=len(distinct)))
    return (owners @ doc_terms).tocsr(), vocabulary


def _distinct_text_terms(texts: Sequence[str], longest: int, copies: np.ndarray) -> TermCounts:
    """Binary text x term matrix over the terms found in at least MIN_ROWS rows (a text counting `copies` times)."""
    tokens: list[str] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        said = words(str(text))
        lengths[row] = len(said)
        tokens.extend(said)
    codes, names = pd.factorize(pd.Series(tokens, dtype=object))
    names = np.asarray(names, dtype=object)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    kept = ~pd.Series(names).isin(ENGLISH_STOP_WORDS).to_numpy()[codes]  # stop words go before phrases are formed
    codes, owner = codes[kept].astype(np.int64), np.repeat(np.arange(len(texts)), lengths)[kept]
    found: list[tuple[int, np.ndarray, np.ndarray]] = []  # (words, where each phrase ends, its number)
    key, valid = codes, np.ones(len(codes), dtype=bool)
    for n in range(1, longest + 1):
        if n > 1 and len(
            codes
        ):  # an n-word phrase: the (n-1)-word one ending just before, and this word, in the same text
            before = np.zeros(len(codes), dtype=np.int64)
            before[valid] = pd.factorize(key[valid])[0]  # renumbered 0..k-1, so the next key stays small
            valid = np.concatenate([[False], valid[:-1] & (owner[1:] == owner[:-1])])
            key = np.concatenate([[0], before[:-1]]) * len(names) + codes
        ends = np.flatnonzero(valid)
        found.append((n, ends, key[ends]))
    return _binary_matrix(found, owner, codes, names, copies, len(texts))


def _binary_matrix(
    found: list[tuple[int, np.ndarray, np.ndarray]],
    owner: np.ndarray,
    codes: np.ndarray,
    names: np.ndarray,
    copies: np.ndarray,
    n_texts: int,
) -> TermCounts:
    """The text x term matrix of the phrases found in at least MIN_ROWS rows, columns in vocabulary order."""
    parts, terms = [], []
    for n, ends, key in found:
        term, uniques = pd.factorize(key)
        ones = np.ones(len(term), dtype=np.float32)
        matrix = sparse.csr_matrix((ones, (owner[ends], term)), shape=(n_texts, len(uniques)))
        matrix.data[:] = 1.0  # each phrase once per text: binary counts
        frequent = np.flatnonzero(copies @ matrix >= MIN_ROWS)
        parts.append(matrix[:, frequent])
        first = np.empty(len(uniques), dtype=np.int64)
        first[term[::-1]] = ends[::-1]  # where each phrase first ends
        last = first[frequent]
        spelled = names[codes[last - n + 1]]
        for i in range(1, n):
            spelled = spelled + " " + names[codes[last - n + 1 + i]]
        terms.extend(spelled.tolist())
    vocabulary = np.array(terms, dtype=object)
    order = np.argsort(vocabulary.astype(str), kind="stable")  # CountVectorizer's order: ties break by it later
    return sparse.hstack(parts, format="csr")[:, order], vocabulary[order]
