"""int8 choices against the fp32 default (ONNX Runtime fused), in one run: texts/s relative to fp32 (batch by
batch, alternating, so the shared machine's load hits all alike) and kNN overlap@10 with the fp32 vectors on real
Debian descriptions. First (--ceiling first|only|skip) the ceiling: one-node int8 and fp32 GEMM rates at the model's
shapes and the fp32 model's GEMM share (ONNX Runtime's profiler), so Amdahl bounds what any int8 GEMM can give.
--sensitivity N quantizes one node at a time instead and prints how far each moves the vectors. Each variant is one
way to quantize the exported model:

- shipped: what quantize: int8 makes (models/onnx_int8.py; = dynamic-keep-emb-keep-sensitive);
- dynamic: quantize_dynamic per channel (what quantize: int8 shipped before), with reduce_range, uint8 weights, or
  with some nodes kept fp32 (nodes_to_exclude: the embedding lookup, the sensitive MatMuls, the FFN output...);
- dynamic-fused: the same on the fused fp32 graph (its Attention becomes QAttention);
- static: quantize_static (QDQ, MinMax calibration on sample texts that are not in the measured rows).

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_int8.py --rows 2000 [--only NAME ...]
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

from bench.embed_throughput import knn_overlap
from bench.machine import add_data_argument, data_file, load, machine_line

CALIBRATION_TEXTS = 256


def matmuls(model_path: Path, layers: list[int], parts: tuple[str, ...]) -> list[str]:
    """Names of the MatMul nodes of `layers` whose name has one of `parts` (the exporter names them by module)."""
    import onnx

    names = [n.name for n in onnx.load(str(model_path), load_external_data=False).graph.node if n.op_type == "MatMul"]
    return [n for n in names if any(f"layer.{i}/" in n for i in layers) and any(p in n for p in parts)]


def embedding_nodes(model_path: Path) -> list[str]:
    """The word-embedding lookup: a Gather in the plain export, EmbedLayerNormalization in the fused graph. Quantizing
    it saves no time (a lookup, not a GEMM) but moves every vector (bench --sensitivity)."""
    import onnx

    nodes = onnx.load(str(model_path), load_external_data=False).graph.node
    return [n.name for n in nodes if n.op_type == "EmbedLayerNormalization" or "word_embeddings/Gather" in n.name]


# The MatMuls kept fp32 by -keep-sensitive: --sensitivity 64 (plain export, one node quantized at a time) gave each
# node's 1 - cosine; summed they match the all-int8 gap (0.0053), and overlap@10 tracked 1 - 1.5 sqrt(gap) in the
# 2,000-row runs, so 0.95 needs a gap <= ~0.0011. Greedy by gap per FLOP under 0.00085 quantizes Q, K and the
# attention output everywhere, V of layers 0-1, FFN-in of layer 5 and FFN-out of layers 3-5 (half the GEMM FLOPs).
SENSITIVE = {
    *(f"layer.{i}/intermediate/dense/MatMul" for i in range(5)),
    *(f"layer.{i}/output/dense/MatMul" for i in range(3)),
    *(f"layer.{i}/attention/self/value/MatMul" for i in range(2, 6)),
}


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
    -reduce-range (7-bit weights), -u8w (dynamic: uint8 weights), -keep-* (those nodes stay fp32; -keep-emb: the
    word-embedding lookup, -keep-sensitive: the SENSITIVE MatMuls), -matmul-only (the fused Attention stays fp32)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    if name == "shipped":  # exactly what quantize: int8 makes
        from ls_pipeline.models.onnx_int8 import _quantize

        _quantize(plain, out, st)
        return
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
        "-keep-emb": embedding_nodes(source),
        "-keep-sensitive": [n for n in matmuls(source, every, ("",)) if n.removeprefix("/model/encoder/") in SENSITIVE],
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
        u8 = "-u8" in name.replace("-u8w", "")
        quantize_static(
            source, out, Calibration(st.tokenizer, calibration, names),
            quant_format=QuantFormat.QOperator if "-qop" in name else QuantFormat.QDQ,
            activation_type=QuantType.QUInt8 if u8 else QuantType.QInt8, weight_type=QuantType.QInt8,
            per_channel=True, reduce_range="-reduce-range" in name, calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=ops, nodes_to_exclude=excluded,
            extra_options={**extra, "ActivationSymmetric": not u8, "WeightSymmetric": True},
        )  # fmt: skip
        return
    # -u8w: uint8 weights (MLAS's U8U8 kernel): AVX2's U8S8 kernel (vpmaddubsw) can saturate its int16 sums
    weights = QuantType.QUInt8 if "-u8w" in name else QuantType.QInt8
    quantize_dynamic(
        source, out, weight_type=weights, per_channel=True, reduce_range="-reduce-range" in name,
        nodes_to_exclude=excluded, op_types_to_quantize=ops, extra_options=extra,
    )  # fmt: skip


VARIANTS = [
    "shipped",  # models/onnx_int8.py: dynamic-keep-emb-keep-sensitive
    "dynamic",  # what quantize: int8 shipped before
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
    "dynamic-keep-emb",
    "dynamic-keep-emb-keep-sensitive",
    "static-fused-qop-u8",
]


# --- the ceiling: int8 GEMM rate vs fp32 at the model's shapes, and the share of fp32 time that is GEMM ---------


def _options(threads: int, profile_prefix: str | None = None) -> Any:
    """Session options as models/onnx_export.session makes them (its threads, no spinning), optionally profiling."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile_prefix:
        options.enable_profiling, options.profile_file_prefix = True, profile_prefix
    return options


def gemm_graph(op: str, k: int, n: int, rng: np.random.Generator) -> tuple[bytes, np.ndarray]:
    """One-node model multiplying an activation (rows x k) by a constant k x n weight with `op`, and the feed's dtype
    example row: MatMul (fp32), MatMulInteger (u8 x s8 -> int32), DynamicQuantizeMatMul (fp32 in, quantizes the
    activation itself, per-column weight scales, fp32 out: what quantize_dynamic's graph fuses to),
    MatMulIntegerToFloat (u8 activation already quantized, fp32 out) and QLinearMatMul (u8 in, u8 out: static QOp)."""
    from onnx import TensorProto, helper, numpy_helper

    w8 = numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), "w")
    scale = numpy_helper.from_array(np.full(n, 0.01, np.float32), "w_scale")
    w_zp = numpy_helper.from_array(np.zeros(n, np.int8), "w_zp")
    a_scale = numpy_helper.from_array(np.array(0.05, np.float32), "a_scale")
    a_zp = numpy_helper.from_array(np.array(128, np.uint8), "a_zp")
    y_scale = numpy_helper.from_array(np.array(0.5, np.float32), "y_scale")
    y_zp = numpy_helper.from_array(np.array(128, np.uint8), "y_zp")
    f32, u8 = TensorProto.FLOAT, TensorProto.UINT8
    node, inits, x_type, y_type = {
        "MatMul": (helper.make_node("MatMul", ["x", "wf"], ["y"]),
                   [numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "wf")], f32, f32),
        "MatMulInteger": (helper.make_node("MatMulInteger", ["x", "w", "a_zp", "w_zp"], ["y"]),
                          [w8, a_zp, w_zp], u8, TensorProto.INT32),
        "DynamicQuantizeMatMul": (helper.make_node("DynamicQuantizeMatMul", ["x", "w", "w_scale", "w_zp"], ["y"],
                                                   domain="com.microsoft"), [w8, scale, w_zp], f32, f32),
        "MatMulIntegerToFloat": (helper.make_node("MatMulIntegerToFloat",
                                                  ["x", "w", "a_scale", "w_scale", "a_zp", "w_zp"], ["y"],
                                                  domain="com.microsoft"), [w8, scale, a_scale, a_zp, w_zp], u8, f32),
        "QLinearMatMul": (helper.make_node("QLinearMatMul",
                                           ["x", "a_scale", "a_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp"], ["y"]),
                          [a_scale, a_zp, w8, scale, w_zp, y_scale, y_zp], u8, u8),
    }[op]  # fmt: skip
    graph = helper.make_graph(
        [node], op, [helper.make_tensor_value_info("x", x_type, [None, k])],
        [helper.make_tensor_value_info("y", y_type, [None, n])], inits,
    )  # fmt: skip
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model.SerializeToString(), np.zeros(1, np.float32 if x_type == f32 else np.uint8)


GEMM_OPS = ["MatMul", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QLinearMatMul"]


class GemmRates:
    """Each GEMM op's rate over one layer's weight shapes (fused QKV k x 3k, attention output k x k, FFN k x i and
    i x k) at `rows` activation rows, one single-node session per op and shape, on `threads` threads."""

    def __init__(self, rows: int, hidden: int, inter: int, threads: int) -> None:
        import onnxruntime as ort

        rng = np.random.default_rng(0)
        shapes = [(hidden, 3 * hidden), (hidden, hidden), (hidden, inter), (inter, hidden)]
        self.flops = sum(2 * rows * k * n for k, n in shapes)
        self._runs: dict[str, list] = {}
        for op in GEMM_OPS:
            runs = []
            for k, n in shapes:
                model, example = gemm_graph(op, k, n, rng)
                x = (rng.standard_normal((rows, k), dtype=np.float32) if example.dtype == np.float32
                     else rng.integers(0, 256, (rows, k), dtype=np.uint8))  # fmt: skip
                runs.append((ort.InferenceSession(model, _options(threads), providers=["CPUExecutionProvider"]), x))
            self._runs[op] = runs
        self.seconds(1)  # the first run allocates

    def seconds(self, repeats: int = 3) -> dict[str, float]:
        """Best-of-`repeats` seconds per op for one layer's GEMMs, the ops interleaved so load hits all alike."""
        best = dict.fromkeys(self._runs, float("inf"))
        for _ in range(repeats):
            for op, runs in self._runs.items():
                started = time.perf_counter()
                for sess, x in runs:
                    sess.run(None, {"x": x})
                best[op] = min(best[op], time.perf_counter() - started)
        return best


def gemm_share(model: Path, batches: list[dict[str, np.ndarray]], threads: int, hidden: int, inter: int) -> dict:
    """Kernel time by op type of `model` over `batches` (ONNX Runtime's profiler), and the GEMM share of it: the
    MatMul nodes plus the QKV projection inside each fused Attention node, estimated as the MatMul nodes' time per
    FLOP times its FLOPs (the rest of Attention, QK^T, softmax and AV, has no int8 form in ONNX Runtime)."""
    import json

    import onnxruntime as ort

    prefix = str(Path(tempfile.mkdtemp(prefix="ls-prof-")) / "fp32")
    sess = ort.InferenceSession(str(model), _options(threads, prefix), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    sess.run(None, {n: batches[0][n] for n in names})
    started = time.perf_counter()
    for feed in batches:
        sess.run(None, {n: feed[n] for n in names})
    wall = time.perf_counter() - started
    events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: dict[str, float] = {}
    runs = [e for e in events if e.get("name") == "model_run"]  # the first is the warm-up: its kernels are left out
    cut = runs[0]["ts"] + runs[0]["dur"] if runs else 0
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time") and e["ts"] >= cut:
            op = e["args"]["op_name"]
            by_op[op] = by_op.get(op, 0.0) + e["dur"] / 1e6
    kernel = sum(by_op.values())
    # per layer: MatMul nodes carry k*k + 2*k*i FLOPs per row, the Attention node's QKV projection 3*k*k
    qkv = by_op.get("MatMul", 0.0) * 3 * hidden / (hidden + 2 * inter) if "Attention" in by_op else 0.0
    qkv = min(qkv, by_op.get("Attention", 0.0))
    gemm = by_op.get("MatMul", 0.0) + qkv
    return {"wall": wall, "kernel": kernel, "by_op": by_op, "gemm": gemm, "qkv_estimate": qkv}


def amdahl(share: float, speedup: float) -> float:
    """Whole-model speedup when a `share` of its time runs `speedup` times faster and the rest as before."""
    return 1.0 / ((1.0 - share) + share / speedup)


def report_ceiling(fused: Path, encode: Any, texts: list[str], batch_size: int, config: Any, threads: int) -> None:
    """Print the GEMM rates, the fp32 model's GEMM share and, from both, the best int8/fp32 texts/s ratio."""
    from ls_pipeline.stages.embed import batch_order

    hidden, inter = config.hidden_size, config.intermediate_size
    started = time.perf_counter()
    batches = [encode([texts[i] for i in rows]) for rows in batch_order(texts, batch_size)]
    tokenizing = time.perf_counter() - started
    rows = int(np.mean([b["attention_mask"].size for b in batches]))
    print(f"\n## The ceiling: GEMM rates at {rows} rows (a batch of {batch_size}, padded) x hidden {hidden} / "
          f"intermediate {inter}, {threads} threads; load {load()}", flush=True)  # fmt: skip
    rates = GemmRates(rows, hidden, inter, threads)
    seconds = rates.seconds(10)
    share = gemm_share(fused, batches, threads, hidden, inter)
    seconds = {op: min(s, again) for (op, s), again in zip(seconds.items(), rates.seconds(10).values(), strict=True)}
    # texts/s counts tokenizing and everything around the kernels too: the share of that whole is what int8 can cut
    f = share["gemm"] / (share["wall"] + tokenizing)
    print("| GEMM op (one node a shape) | GFLOP/s | x fp32 MatMul | Amdahl: best int8/fp32 texts/s |")
    print("|---|---:|---:|---:|")
    for op, s in seconds.items():
        speedup = seconds["MatMul"] / s
        print(f"| {op} | {rates.flops / s / 1e9:.1f} | {speedup:.2f} | {amdahl(f, speedup):.2f} |")
    ranked = sorted(share["by_op"].items(), key=lambda kv: -kv[1])
    ops = ", ".join(f"{op} {100 * t / share['kernel']:.1f}%" for op, t in ranked)
    whole = sum(share["by_op"].get(op, 0.0) for op in ("MatMul", "Attention")) / (share["wall"] + tokenizing)
    best = max(seconds["MatMul"] / s for s in seconds.values())
    print(
        f"fp32 fused model over {len(texts)} texts in {len(batches)} batches: tokenizing {tokenizing:.2f} s, session "
        f"runs {share['wall']:.2f} s, kernels {share['kernel']:.2f} s ({ops}). GEMMs (MatMul nodes + the QKV "
        f"projection inside Attention, est. {share['qkv_estimate']:.2f} s) are {100 * f:.1f}% of tokenize + run: "
        f"infinitely fast GEMMs give at most {amdahl(f, float('inf')):.2f}x. Even if all of Attention (its QK^T, "
        f"softmax and AV too) ran at the best int8 rate ({best:.2f}x), {amdahl(whole, best):.2f}x; load {load()}",
        flush=True,
    )



# --- per-node sensitivity: each quantizable node of the plain export quantized alone ------------------------------


def quantizable(model_path: Path) -> list[str]:
    """The plain export's nodes quantize_dynamic would quantize: every MatMul (projections, FFN, and attention's
    QK^T and AV, which multiply two activations) and the word-embedding Gather."""
    import onnx

    nodes = onnx.load(str(model_path), load_external_data=False).graph.node
    return [n.name for n in nodes if n.op_type == "MatMul" or (n.op_type == "Gather" and "word_embeddings" in n.name)]


def sensitivity(plain: Path, folder: Path, texts: list[str], make: Any) -> None:
    """Quantize one node at a time (dynamic, per channel) and print how far the vectors move from fp32: mean and
    max of 1 - cosine, and overlap@10 on these rows; the worst nodes are the ones to keep fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    reference = make(plain).embed(texts)
    print(f"\n## Sensitivity: one node quantized (dynamic, per channel), {len(texts)} texts; load {load()}")
    print("| node | 1 - cosine mean | 1 - cosine max | overlap@10 |")
    print("|---|---:|---:|---:|")
    rows = []
    for node in quantizable(plain):
        out = folder / "one-node.onnx"
        quantize_dynamic(plain, out, weight_type=QuantType.QInt8, per_channel=True, nodes_to_quantize=[node])
        vectors = make(out).embed(texts)
        gap = 1.0 - (vectors * reference).sum(axis=1)
        rows.append((float(gap.mean()), float(gap.max()), knn_overlap(reference, vectors), node))
        print(
            f"| {node.removeprefix('/model/')} | {rows[-1][0]:.5f} | {rows[-1][1]:.5f} | {rows[-1][2]:.3f} |",
            flush=True,
        )
    worst = sorted(rows, reverse=True)[:8]
    print("worst by mean: " + ", ".join(f"{n.removeprefix('/model/encoder/')} {m:.5f}" for m, _, _, n in worst))
    print(f"load after {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    add_data_argument(parser)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--seed", type=int, default=1, help="which random sample of the data")
    parser.add_argument("--ceiling", choices=["first", "only", "skip"], default="first")
    parser.add_argument("--sensitivity", type=int, default=0, help="texts for a per-node sensitivity run (then exit)")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    logging.getLogger().setLevel(logging.ERROR)
    from ls_pipeline.models.embedding import DEFAULT_MODEL, resolve_location
    from ls_pipeline.models.onnx_export import OnnxEmbedder, export
    from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder, ensure_fused_fp32_model
    from ls_pipeline.stages.embed import batch_order
    from ls_pipeline.store.machine_cache import model_cache_dir
    from ls_pipeline.store.vector_cache import model_key

    data = data_file(args.data, args.rows + CALIBRATION_TEXTS)
    frame = pd.read_parquet(data).drop_duplicates("text")
    frame = frame.sample(n=args.rows + CALIBRATION_TEXTS, random_state=args.seed)
    all_texts = frame["text"].astype(str).tolist()
    texts, calibration = all_texts[: args.rows], all_texts[args.rows :]
    location, revision = resolve_location(DEFAULT_MODEL)
    fp32 = OnnxFp32Embedder(DEFAULT_MODEL, location, revision)
    folder = Path(tempfile.mkdtemp(prefix="ls-int8-"))
    st = __import__("sentence_transformers").SentenceTransformer(location, device="cpu")
    plain = folder / "plain.onnx"
    export(location, plain, st.tokenizer)
    fused = ensure_fused_fp32_model(location, model_cache_dir() / model_key(DEFAULT_MODEL, revision))
    if args.ceiling != "skip":
        config = st[0].auto_model.config
        report_ceiling(fused, fp32.tokenize, texts, args.batch_size, config, os.cpu_count() or 1)
        if args.ceiling == "only":
            return

    def make(path: Path) -> OnnxEmbedder:
        class Variant(OnnxEmbedder):
            def model_file(self, location: str, folder: Path, path: Path = path) -> Path:
                return path

        return Variant(DEFAULT_MODEL, location, revision)

    if args.sensitivity:
        sensitivity(plain, folder, texts[: args.sensitivity], make)
        return
    embedders: dict[str, Any] = {"fp32": fp32}
    for name in args.only or VARIANTS:
        started = time.perf_counter()
        out = folder / f"{name}.onnx"
        build(name, plain, fused, out, st, calibration)
        embedders[name] = make(out)
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
