"""The int8 embedding path: the ONNX export of the transformer, dynamically quantized per channel except for the
nodes whose quantization moves the vectors most, run by ONNX Runtime (models/onnx_export.py does the rest as
sentence-transformers does).

Measured here (bench/embed_int8.py, 2,000 Debian texts against the fused fp32 default): quantizing every MatMul
gives 1.7-1.9x its texts/s but kNN overlap@10 with the fp32 vectors of only ~0.89. One node at a time
(--sensitivity), the error sits in the FFN matmuls and the value projections, and the per-node errors add up; so
these stay fp32 (kept_fp32) and the rest, about half the GEMM FLOPs, is int8. Per-channel weights: per-tensor int8
(ONNX Runtime's default) drops to cosine ~0.90 on some texts. The word-embedding lookup stays fp32 too: quantizing
a lookup saves no time and moves every vector. The export and quantization (~15 s) are paid once per model and
kept under the model cache folder.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from ls_pipeline.models.onnx_export import OnnxEmbedder, ensure_model_file

# Appended to the model revision: int8 vectors are not the fp32 ones, nor those of the older all-int8 recipe
# ("+onnx-int8-pc"); the model file's name changes with it so a cache made by that recipe is not reused.
QUANTIZED_SUFFIX = "+onnx-int8-mixed"
MODEL_FILE = "model-int8-mixed.onnx"

_LAYER = re.compile(r"/layer\.(\d+)/")


class OnnxInt8Embedder(OnnxEmbedder):
    revision_suffix = QUANTIZED_SUFFIX
    runtime = "onnxruntime-int8"

    def model_file(self, location: str, folder: Path) -> Path:
        return ensure_int8_model(location, folder)


def ensure_int8_model(location: str, folder: Path) -> Path:
    """The quantized model file, exporting and quantizing it first if this model has none yet."""
    return ensure_model_file(folder / MODEL_FILE, location, _quantize, "quantizing it to int8")


def kept_fp32(node_names: list[str]) -> list[str]:
    """The nodes of an exported BERT-style encoder (torch.onnx names them by module path) that stay fp32.

    For all-MiniLM-L6-v2 these are the most sensitive MatMuls of bench/embed_int8.py's per-node run: FFN-in of every
    layer but the last, FFN-out of the first half of the layers, the value projection from the second third on.
    Deeper or shallower models get the same rule scaled to their depth. Names that do not follow the pattern keep
    nothing fp32 but the embedding lookup."""
    layers = {int(m.group(1)) for name in node_names if (m := _LAYER.search(name))}
    depth = max(layers) + 1 if layers else 0
    kept = []
    for name in node_names:
        match = _LAYER.search(name)
        layer = int(match.group(1)) if match else -1
        if "word_embeddings/Gather" in name:
            kept.append(name)
        elif layer < 0 or not name.endswith("/MatMul"):
            continue
        elif "/intermediate/dense/" in name and layer < depth - 1:
            kept.append(name)
        elif "/output/dense/" in name and "/attention/" not in name and layer < depth / 2:
            kept.append(name)
        elif "/attention/self/value/" in name and layer >= depth / 3:
            kept.append(name)
    return kept


def _quantize(fp32: Path, out: Path, st: Any) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = [node.name for node in onnx.load(str(fp32), load_external_data=False).graph.node]
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # it logs a pre-processing tip at WARNING on the root logger
    try:
        quantize_dynamic(fp32, out, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=kept_fp32(names))
    finally:
        root.setLevel(level)
