"""The int8 embedding path: the ONNX export of the transformer, dynamically quantized per channel, run by ONNX
Runtime (models/onnx_export.py does the rest as sentence-transformers does).

Measured here (bench/embed_throughput.py): per-channel int8 keeps cosine >= 0.99 to the fp32 vectors, while
per-tensor int8 (ONNX Runtime's default, and torch's quantize_dynamic) drops to ~0.90 on some texts.
The export and quantization (~15 s) are paid once per model and kept under the model cache folder.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ls_pipeline.models.onnx_export import OnnxEmbedder, ensure_model_file

QUANTIZED_SUFFIX = "+onnx-int8-pc"  # appended to the model revision: int8 vectors are not the fp32 ones


class OnnxInt8Embedder(OnnxEmbedder):
    revision_suffix = QUANTIZED_SUFFIX
    runtime = "onnxruntime-int8"

    def model_file(self, location: str, folder: Path) -> Path:
        return ensure_int8_model(location, folder)


def ensure_int8_model(location: str, folder: Path) -> Path:
    """The quantized model file, exporting and quantizing it first if this model has none yet."""
    return ensure_model_file(folder / "model-int8.onnx", location, _quantize, "quantizing it to int8")


def _quantize(fp32: Path, out: Path, st: Any) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # it logs a pre-processing tip at WARNING on the root logger
    try:
        quantize_dynamic(fp32, out, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
