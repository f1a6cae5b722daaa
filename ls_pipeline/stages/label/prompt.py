"""What an LLM labeler is asked, and how its answer is read. Pure: no provider, no files.

A cluster is shown through its most typical texts (nearest its centre in embedding space, duplicates once),
cut to a token budget estimated from characters (about 4 a token: no tokenizer to download), together with the
user's context and the keyword labeler's terms as hints. The answer must be a JSON object with a label and a
one-sentence description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

CHARS_PER_TOKEN = 4
MAX_TEXT_CHARS = 600  # one long text must not eat the whole budget
MAX_LABEL_CHARS = 80
MAX_DESCRIPTION_CHARS = 400

SYSTEM = (
    "You name groups of texts on a map of a text dataset. Reply with a JSON object and nothing else: "
    '{"label": "<2 to 5 words>", "description": "<one sentence>"}. The label is short, specific and plain '
    "(no quotes, no numbering, never just 'Cluster' or 'Miscellaneous'); the description says what the texts "
    "have in common."
)


def nearest_to_centre(vectors: np.ndarray, members: np.ndarray, limit: int) -> np.ndarray:
    """Up to `limit` member row numbers, most similar (cosine) to the members' mean vector first."""
    if len(members) == 0:
        return members
    chosen = vectors[members].astype(np.float32)
    centre = chosen.mean(axis=0)
    norms = np.linalg.norm(chosen, axis=1) * max(float(np.linalg.norm(centre)), 1e-12)
    similarity = chosen @ centre / np.maximum(norms, 1e-12)
    order = np.argsort(-similarity, kind="stable")
    return members[order[: max(limit * 3, limit)]]  # spare rows: duplicates are dropped later


def within_budget(texts: Sequence[str], samples: int, max_tokens: int) -> list[str]:
    """Distinct, whitespace-tidied texts in the given order, each cut to MAX_TEXT_CHARS, until the budget is used."""
    budget = max_tokens * CHARS_PER_TOKEN
    kept: list[str] = []
    seen: set[str] = set()
    for raw in texts:
        text = re.sub(r"\s+", " ", raw).strip()
        if not text or text in seen:
            continue
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS].rsplit(" ", 1)[0] + " …"
        if kept and len(text) > budget:
            break
        kept.append(text[:budget])
        seen.add(re.sub(r"\s+", " ", raw).strip())
        budget -= len(text)
        if len(kept) == samples or budget <= 0:
            break
    return kept


def cluster_messages(texts: Sequence[str], terms: Sequence[str], context: str) -> list[dict[str, str]]:
    lines = [f"Dataset: {context.strip()}", ""] if context.strip() else []
    lines += [f"Texts from one group, most typical first ({len(texts)}):"]
    lines += [f"{i}. {text}" for i, text in enumerate(texts, 1)]
    if terms:
        lines += ["", f"Words that set this group apart from the others: {', '.join(terms)}"]
    lines += ["", 'Answer as JSON: {"label": "...", "description": "..."}']
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def parent_messages(child_labels: Sequence[str], texts: Sequence[str], context: str) -> list[dict[str, str]]:
    lines = [f"Dataset: {context.strip()}", ""] if context.strip() else []
    lines += ["These groups of texts belong together under one broader topic:"]
    lines += [f"- {label}" for label in child_labels]
    if texts:
        lines += ["", "Typical texts of the topic:"] + [f"{i}. {text}" for i, text in enumerate(texts, 1)]
    lines += ["", 'Name the broader topic. Answer as JSON: {"label": "...", "description": "..."}']
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def parse_label(reply: str) -> dict[str, str] | None:
    """{"label", "description"} from a model's reply, tolerating code fences and chatter around the object;
    None when there is no usable label (the caller asks again once, then falls back to keywords)."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data: Any = json.loads(reply[start : end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    label = next((data[k] for k in ("label", "title", "name") if isinstance(data.get(k), str)), "")
    label = _tidy(label).strip("\"'“”`*#.: ")
    if not label or label.lower() in ("cluster", "label", "..."):
        return None
    description = data.get("description")
    description = _tidy(description) if isinstance(description, str) else ""
    return {"label": _cut(label, MAX_LABEL_CHARS), "description": _cut(description, MAX_DESCRIPTION_CHARS)}


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def estimate_tokens(messages: Sequence[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN + 4 * len(messages)
