"""Label a clustering at every level: keywords always (offline), then a chat model's names where one is chosen.

The glue between the pure label stage (keywords, prompt, levels) and a chat provider. A cluster whose answer stays
unusable after one repair request keeps its keyword label, marked `keywords (fallback)`: one odd answer should
not sink a run that has already paid for the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.models.chat import ChatProvider
from ls_pipeline.models.chat_runner import ChatSettings, Journal, Outcome, Usage, ask_all
from ls_pipeline.stages.label import (
    ClusterLabel,
    LabelParams,
    TermCounts,
    class_term_presence,
    keyword_labels,
    labels_table,
    levels,
    topic_labels,
)
from ls_pipeline.stages.label import prompt as label_prompt
from ls_pipeline.stages.label.keyphrases import Embed, keyphrase_names
from ls_pipeline.stages.outline import Outlines

FALLBACK = "keywords (fallback)"


@dataclass
class Chat:
    provider: ChatProvider
    journal: Journal
    settings: ChatSettings = field(default_factory=ChatSettings)


@dataclass
class Phrases:
    """The offline keyphrase labeler's model: `embed` (a local model, texts to unit vectors) and `centres`, each
    cluster id's mean vector under it."""

    embed: Embed
    centres: np.ndarray


@dataclass
class Labeled:
    table: pd.DataFrame  # one row per cluster: the default table + terms, labeler, parent
    levels: pd.DataFrame  # one row per topic above the clusters
    record: dict[str, Any]  # sidecar fields


def label_all(
    texts: list[str],
    vectors: np.ndarray,
    xy: np.ndarray,
    cluster: np.ndarray,
    defaults: pd.DataFrame,
    params: LabelParams,
    chat: Chat | None = None,
    tree: list[dict[int, int]] | None = None,
    phrases: Phrases | None = None,
) -> Labeled:
    """Names for every non-noise cluster and every topic above them; `chat` set means a chat model names them.
    `tree`: the clustering's own levels (cluster_tree); without them clusters are merged by their centroids.
    `phrases`: without a chat model, keyphrase labels re-ranked with this local model (else keyword labels, which
    are also what a chat model is shown and what it falls back to)."""
    labeled = [int(c) for c in defaults.loc[~defaults["noise"], "cluster"]]
    maps = tree[: params.levels] if tree else levels.hierarchy(vectors, cluster, labeled, params.levels)
    if chat is None and phrases is not None:
        names, topic_names = keyphrase_names(
            texts, cluster, labeled, maps, phrases.centres, phrases.embed, params.terms
        )
    else:
        counts = class_term_presence(texts, cluster)  # once for the clusters and every level: one pass over the texts
        names = keyword_labels(texts, cluster, labeled, terms=params.terms, counts=counts)
        topic_names = [
            _keyword_topics(texts, cluster, maps, level, params.terms, counts) for level in range(1, len(maps) + 1)
        ]
    usage, fallbacks, reused = Usage(), [], 0
    if chat is not None:
        asked = _ask_clusters(texts, vectors, cluster, labeled, names, params, chat)
        names, usage, reused = _apply(names, asked, fallbacks, "", params.labeler), asked.usage, asked.reused
        for level in range(1, len(maps) + 1):
            asked = _ask_topics(texts, vectors, cluster, maps, level, names, topic_names, params, chat)
            topic_names[level - 1] = _apply(topic_names[level - 1], asked, fallbacks, f"L{level}-", params.labeler)
            usage.add(vars(asked.usage))
            reused += asked.reused
    table = labels_table(defaults, names, maps[0] if maps else {})
    record = {
        "labeler": params.labeler,
        "n_labels": len(names),
        "topic_levels": [{"level": i + 1, "topics": len(set(m.values()))} for i, m in enumerate(maps)],
        "levels_from": "cluster tree" if tree else "centroid merges",
        "keywords": "keyphrases re-ranked by a local model" if chat is None and phrases else "lift",
    }
    if chat is not None:
        record |= {
            "model": chat.provider.model.public(),
            "usage": {**vars(usage), "total_tokens": usage.prompt_tokens + usage.completion_tokens},
            "fallbacks": fallbacks,
            "resumed_answers": reused,
        }
    return Labeled(table, levels_table(xy, cluster, maps, topic_names), record)


def _keyword_topics(
    texts: list[str], cluster: np.ndarray, maps: list[dict[int, int]], level: int, terms: int, counts: TermCounts
) -> dict[int, ClusterLabel]:
    ids = sorted(maps[0])
    ancestor = levels.rows_at_level(np.array(ids), maps, level)
    topics = sorted(set(maps[level - 1].values()))
    members = {t: [c for c, a in zip(ids, ancestor, strict=True) if a == t] for t in topics}
    return topic_labels(texts, cluster, members, terms=terms, counts=counts)


def _ask_clusters(
    texts: list[str],
    vectors: np.ndarray,
    cluster: np.ndarray,
    labeled: list[int],
    names: dict[int, ClusterLabel],
    params: LabelParams,
    chat: Chat,
) -> Outcome:
    questions = {}
    for cid in labeled:
        sample = _typical_texts(texts, vectors, np.flatnonzero(cluster == cid), params)
        questions[str(cid)] = label_prompt.cluster_messages(sample, names[cid].terms[:6], params.context)
    return ask_all(chat.provider, questions, label_prompt.parse_label, chat.journal, chat.settings, "cluster")


def _ask_topics(
    texts: list[str],
    vectors: np.ndarray,
    cluster: np.ndarray,
    maps: list[dict[int, int]],
    level: int,
    names: dict[int, ClusterLabel],
    topic_names: list[dict[int, ClusterLabel]],
    params: LabelParams,
    chat: Chat,
) -> Outcome:
    below = names if level == 1 else topic_names[level - 2]
    rows = levels.rows_at_level(cluster, maps, level)
    small = LabelParams(samples=max(1, params.samples // 2), max_prompt_tokens=max(100, params.max_prompt_tokens // 2))
    questions = {}
    for topic in sorted(set(maps[level - 1].values())):
        children = [below[c].label for c, p in maps[level - 1].items() if p == topic]
        sample = _typical_texts(texts, vectors, np.flatnonzero(rows == topic), small)
        questions[f"L{level}-{topic}"] = label_prompt.parent_messages(children, sample, params.context)
    return ask_all(chat.provider, questions, label_prompt.parse_label, chat.journal, chat.settings, "topic")


def _typical_texts(texts: list[str], vectors: np.ndarray, members: np.ndarray, params: LabelParams) -> list[str]:
    nearest = label_prompt.nearest_to_centre(vectors, members, params.samples)
    return label_prompt.within_budget([texts[i] for i in nearest], params.samples, params.max_prompt_tokens)


def _apply(
    names: dict[int, ClusterLabel], asked: Outcome, fallbacks: list[str], prefix: str, labeler: str
) -> dict[int, ClusterLabel]:
    """Chat names where the model gave one; the keyword name, marked as a fallback, where it did not."""
    out = {}
    for gid, keyword in names.items():
        answer = asked.answers.get(f"{prefix}{gid}")
        if answer is None:
            fallbacks.append(f"{prefix}{gid}")
            out[gid] = ClusterLabel(keyword.label, keyword.description, keyword.terms, FALLBACK)
        else:
            out[gid] = ClusterLabel(answer["label"], answer["description"], keyword.terms, labeler)
    return _distinguish(out)


def _distinguish(names: dict[int, ClusterLabel]) -> dict[int, ClusterLabel]:
    """A model may give two clusters the same name; the later ones get their best keyword not yet used that way in
    brackets (two clusters can share a best keyword), or their id when every keyword is taken."""
    seen: set[str] = set()
    for gid in sorted(names):
        name = names[gid]
        if name.label in seen:
            tries = [f"{name.label} ({term})" for term in name.terms] + [f"{name.label} ({gid})"]
            label = next(t for t in tries if t not in seen)
            names[gid] = ClusterLabel(label, name.description, name.terms, name.labeler)
        seen.add(names[gid].label)
    return names


def levels_table(
    xy: np.ndarray, cluster: np.ndarray, maps: list[dict[int, int]], topic_names: list[dict[int, ClusterLabel]]
) -> pd.DataFrame:
    """One row per topic: level, cluster (topic id within its level), label, description, terms, labeler, count,
    children (ids one level below; cluster ids at level 1), parent (topic id one level up; -1 at the top), hull."""
    rows = []
    for level, mapping in enumerate(maps, 1):
        outlines = Outlines(xy, levels.rows_at_level(cluster, maps, level))
        above = maps[level] if level < len(maps) else {}
        for topic in sorted(set(mapping.values())):
            name = topic_names[level - 1][topic]
            rows.append(
                {
                    "level": level,
                    "cluster": topic,
                    "label": name.label,
                    "description": name.description,
                    "terms": name.terms,
                    "labeler": name.labeler,
                    "count": len(outlines.members(topic)),
                    "children": sorted(c for c, p in mapping.items() if p == topic),
                    "parent": above.get(topic, -1),
                    "hull": outlines.outline(topic),
                }
            )
    columns = ["level", "cluster", "label", "description", "terms", "labeler", "count", "children", "parent", "hull"]
    return pd.DataFrame(rows, columns=columns)
