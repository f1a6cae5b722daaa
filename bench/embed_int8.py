"""int8 choices against the fp32 default (ONNX Runtime fused), in one run: texts/s relative to fp32 (batch by
batch, alternating, so the shared machine's load hits all alike) and kNN overlap@10 with the fp32 vectors on real
Debian descriptions. Each variant is one way to quantize the exported model:

- dynamic: quantize_dynamic per channel (what quantize: int8 ships), with reduce_range, or with some MatMuls kept
  fp32 (nodes_to_exclude: the FFN output of the last layers, the attention output, the first layer);
- dynamic-fused: the same on the fused fp32 graph (its Attention becomes QAttention);
- static: quantize_static (QDQ, MinMax calibration on sample texts that are not in the measured rows).

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 /work/main/.venv/bin/python bench/embed_int8.py --rows 1500 [--only NAME ...]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.embed_throughput import DATA, knn_overlap

CALIBRATION_TEXTS = 256


def matmuls(model_path: Path, layers: list[int], parts: tuple[str, ...]) -> list[str]:
    """Names of the MatMul nodes of `layers` whose name has one of `parts` (the exporter names them by module)."""
    import onnx

    names = [n.name for n in onnx.load(str(model_path), load_external_data=False).graph.node if n.op_type == "MatMul"]
    return [n for n in names if any(f"layer.{i}/" in n for i in layers) and any(p in n for p in parts)]


class Calibration:
    """onnxruntime.quantization's CalibrationDataReader: tokenized sample texts, 16 a batch."""

    def __init__(self, tokenizer: Any, texts: list[str], names: list[str]) -> None:
        batches = [texts[i : i + 16] for i in range(0, len(texts), 16)]
        encoded = [tokenizer(b, padding=True, truncation=True, max_length=256, return_tensors="np") for b in batches]
        self._feeds = iter([{n: np.asarray(e[n], dtype=np.int64) for n in names} for e in encoded])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def build(name: str, plain: Path, fused: Path, out: Path, st: Any, calibration: list[str]) -> None:
    """Quantize one variant into `out`. The name says how: dynamic|static, -fused (the fp32 default's fused graph
    instead of the plain export), -qop (static: QOperator instead of QDQ), -u8 (static: uint8 activations),
    -reduce-range, -keep-* (those MatMuls stay fp32), -matmul-only (the fused Attention stays fp32)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    source = fused if "-fused" in name else plain
    last = st[0].auto_model.config.num_hidden_layers - 1
    every = list(range(last + 1))
    ffn_out = [n for n in matmuls(source, every, ("/output/dense",)) if "attention" not in n]
    keep = {
        "-keep-ffn-out-last2": [n for n in ffn_out if f"layer.{last - 1}/" in n or f"layer.{last}/" in n],
        "-keep-ffn-out-all": ffn_out,
        "-keep-attn-out-all": matmuls(source, every, ("attention/output/dense",)),
        "-keep-first-layer": matmuls(source, [0], ("",)),
        "-keep-last-layer": matmuls(source, [last], ("",)),
    }
    excluded: list[str] = []
    for suffix, names in keep.items():
        if suffix in name:
            if not names:
                raise SystemExit(f"{name}: no MatMul matched {suffix}; the exporter's node names changed")
            excluded += names
    ops = ["MatMul"] if "-matmul-only" in name or name.startswith("static") else None
    # the fused graph's contrib ops (Attention, SkipLayerNormalization) defeat ONNX shape inference: say the type
    extra: dict[str, Any] = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    if name.startswith("static"):
        names = [i.name for i in onnx.load(str(source), load_external_data=False).graph.input]
        u8 = "-u8" in name
        quantize_static(
            source, out, Calibration(st.tokenizer, calibration, names),
            quant_format=QuantFormat.QOperator if "-qop" in name else QuantFormat.QDQ,
            activation_type=QuantType.QUInt8 if u8 else QuantType.QInt8, weight_type=QuantType.QInt8,
            per_channel=True, reduce_range="-reduce-range" in name, calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=ops, nodes_to_exclude=excluded,
            extra_options={**extra, "ActivationSymmetric": not u8, "WeightSymmetric": True},
        )  # fmt: skip
        return
    quantize_dynamic(
        source, out, weight_type=QuantType.QInt8, per_channel=True, reduce_range="-reduce-range" in name,
        nodes_to_exclude=excluded, op_types_to_quantize=ops, extra_options=extra,
    )  # fmt: skip


VARIANTS = [
    "dynamic",  # what quantize: int8 ships
    "dynamic-reduce-range",
    "dynamic-keep-ffn-out-last2",
    "dynamic-keep-ffn-out-all",
    "dynamic-keep-attn-out-all",
    "dynamic-keep-first-layer",
    "dynamic-keep-last-layer",
    "dynamic-fused",
    "dynamic-fused-matmul-only",
    "dynamic-fused-keep-ffn-out-all",
    "static-s8",
    "static-u8",
    "static-qop-u8",
    "static-fused-s8",
    "static-fused-u8",
    "static-fused-u8-reduce-range",
    "static-fused-u8-keep-ffn-out-all",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger().setLevel(logging.ERROR)
    from ls_pipeline.models.embedding import DEFAULT_MODEL, resolve_location
    from ls_pipeline.models.onnx_export import OnnxEmbedder, export
    from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder, ensure_fused_fp32_model
    from ls_pipeline.stages.embed import batch_order
    from ls_pipeline.store.machine_cache import model_cache_dir
    from ls_pipeline.store.vector_cache import model_key

    frame = pd.read_parquet(DATA).drop_duplicates("text").sample(n=args.rows + CALIBRATION_TEXTS, random_state=1)
    all_texts = frame["text"].astype(str).tolist()
    texts, calibration = all_texts[: args.rows], all_texts[args.rows :]
    location, revision = resolve_location(DEFAULT_MODEL)
    fp32 = OnnxFp32Embedder(DEFAULT_MODEL, location, revision)
    folder = Path(tempfile.mkdtemp(prefix="ls-int8-"))
    st = __import__("sentence_transformers").SentenceTransformer(location, device="cpu")
    plain = folder / "plain.onnx"
    export(location, plain, st.tokenizer)
    fused = ensure_fused_fp32_model(location, model_cache_dir() / model_key(DEFAULT_MODEL, revision))
    embedders: dict[str, Any] = {"fp32": fp32}
    for name in args.only or VARIANTS:
        started = time.perf_counter()
        out = folder / f"{name}.onnx"
        build(name, plain, fused, out, st, calibration)

        class Variant(OnnxEmbedder):
            def model_file(self, location: str, folder: Path, path: Path = out) -> Path:
                return path

        embedders[name] = Variant(DEFAULT_MODEL, location, revision)
        print(f"built {name} in {time.perf_counter() - started:.1f} s", flush=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{len(texts)} distinct Debian texts, batches of {args.batch_size}; load {load}", flush=True)
    out_vectors = {name: np.zeros((len(texts), fp32.dimensions), np.float32) for name in embedders}
    spent = dict.fromkeys(embedders, 0.0)
    for e in embedders.values():
        e.embed(texts[:8])
    for rows in batch_order(texts, args.batch_size):
        batch = [texts[i] for i in rows]
        for name, embedder in embedders.items():
            started = time.perf_counter()
            out_vectors[name][rows] = embedder.embed(batch)
            spent[name] += time.perf_counter() - started
    reference = out_vectors["fp32"]
    print("| int8 variant | texts/s | x fp32 | cosine to fp32 (min / mean) | kNN overlap@10 with fp32 |")
    print("|---|---:|---:|---:|---:|")
    for name, vectors in out_vectors.items():
        cosine = (vectors * reference).sum(axis=1)
        print(f"| {name} | {len(texts) / spent[name]:.1f} | {spent['fp32'] / spent[name]:.2f} | "
              f"{cosine.min():.4f} / {cosine.mean():.4f} | {knn_overlap(reference, vectors):.3f} |")  # fmt: skip
    print(f"load after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
