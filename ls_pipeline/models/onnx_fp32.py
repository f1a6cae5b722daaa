"""fp32 embedding on ONNX Runtime, with its transformer fusions (one Attention, SkipLayerNormalization and BiasGelu
kernel per layer instead of dozens of small ops): the default model's documents on a CPU, and search queries.

For documents it runs ~1.8x sentence-transformers' texts/s at the same vectors (bench/embed_gemm_limit.py); for
one short query torch's per-op overhead dominates: 11 ms through sentence-transformers' encode, 8 ms through the
bare torch model, 3.8 ms here (bench/search_latency.py). The vectors are torch's to cosine >= 0.9999998, so a
search over vectors torch made stays exact. The export (torch.onnx, local weights) and the fusion pass run once
per model and machine and are kept under the model cache folder, checked against sentence-transformers before
they are kept. A query for a model that cannot go through them embeds with torch; the default model's documents
do not fall back (models/embedding.py says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.errors import UserError
from ls_pipeline.models.onnx_export import OnnxEmbedder, ensure_model_file, session

MIN_COSINE = 0.99999  # a correct fusion differs by rounding only; one that misreads a model is far below
PROBES = ["a", "a library for parsing json files", "font for terminals " * 300]  # short, typical, truncated


FUSED_SUFFIX = "+onnx-fp32-fused"  # appended to the model revision: the runtime is part of the vectors' provenance


class OnnxFp32Embedder(OnnxEmbedder):
    revision_suffix = FUSED_SUFFIX
    runtime = "onnxruntime-fp32-fused"

    def model_file(self, location: str, folder: Path) -> Path:
        return ensure_fused_fp32_model(location, folder)


def ensure_fused_fp32_model(location: str, folder: Path) -> Path:
    """The fused fp32 model file, exporting and fusing it first if this model has none yet."""

    def fuse(plain: Path, out: Path, st: Any) -> None:
        from onnxruntime.transformers import optimizer

        config = st[0].auto_model.config
        heads, hidden = config.num_attention_heads, config.hidden_size
        fused = optimizer.optimize_model(str(plain), "bert", num_heads=heads, hidden_size=hidden, opt_level=1)
        fused.save_model_to_file(str(out))
        _check(out, st)  # a fusion that does not fit this architecture must not be kept

    target = folder / "model-fp32-fused.onnx"
    return ensure_model_file(target, location, fuse, "fusing its transformer layers")


def _check(path: Path, st: Any) -> None:
    probe = session(path, 1)
    names = [i.name for i in probe.get_inputs()]
    length = int(st.max_seq_length or 512)
    encoded = st.tokenizer(PROBES, padding=True, truncation=True, max_length=length, return_tensors="np")
    hidden = probe.run(None, {name: np.asarray(encoded[name], dtype=np.int64) for name in names})[0]
    mask = np.asarray(encoded["attention_mask"], dtype=np.float32)[..., None]
    ours = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    theirs = st.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    worst = float((ours * theirs).sum(axis=1).min())
    if worst < MIN_COSINE:
        raise UserError(f"the fused ONNX model differs from sentence-transformers (cosine {worst:.7f})")
