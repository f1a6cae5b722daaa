"""Where the int8 path's error comes from, and two activation-side remedies tried against it, in one run beside the
fp32 default (ONNX Runtime fused) and the shipped mixed int8 model: texts/s relative to fp32 (batch by batch,
alternating), cosine to fp32 and kNN overlap@10 with the fp32 vectors on real Debian descriptions.

- weights-int8: quantize_dynamic per channel on every weight MatMul (the all-int8 recipe; the activation x
  activation MatMuls of attention stay fp32, which changes nothing in quality);
- fake-weights: only the weights rounded to int8 per output channel, run in fp32 (the weight error alone);
- fake-per-token: only the weight MatMuls' inputs rounded to int8 per token, run in fp32 (that activation error
  alone), and -w8 with the weights rounded too (what a per-token int8 GEMM computes);
- smooth-A: SmoothQuant (migrate activation range into the weights, per input channel, strength A, from
  calibration texts not among the measured rows), then weights-int8;
- per-token: a real per-token int8 graph (each row's own scale, MatMulIntegerToFloat), what fake-per-token-w8
  measures at int8 speed;
- nbits8-bB (only where onnx_ir imports, e.g. a --target folder on PYTHONPATH): ONNX Runtime's MatMulNBits on the
  fused graph, 8-bit weights in blocks of B along K with int8 compute (accuracy_level 4: activations quantized
  per row and block inside MLAS).

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_int8_activations.py --rows 1000
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.embed_throughput import knn_overlap
from bench.machine import add_data_argument, data_file, load, machine_line

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def weight_matmuls(model: Any) -> list[Any]:
    """The encoder layers' MatMul nodes whose second input is a weight (an initializer)."""
    inits = {i.name for i in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in inits and "/layer." in n.name]


def activation_matmuls(path: Path) -> list[str]:
    """Attention's QK^T and AV: MatMuls of two activations."""
    import onnx

    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and n.input[1] not in inits]


def smooth(source: Path, out: Path, feeds: list[dict[str, np.ndarray]], alpha: float) -> None:
    """SmoothQuant: each weight MatMul's input divided per channel by s = max|x|^alpha / max|w|^(1-alpha) (a Mul
    before it) and the weight rows multiplied by s, so the fp32 model computes the same but its activations have
    flatter channels for per-tensor int8."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    groups: dict[str, list[Any]] = {}  # by input: Q, K and V read the same activations and share one scale
    for node in weight_matmuls(model):
        groups.setdefault(node.input[0], []).append(node)
    probe = onnx.load(str(source))
    for name in groups:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    amax: dict[str, Any] = dict.fromkeys(groups)
    for feed in feeds:
        mask = feed["attention_mask"].astype(bool)
        outs = dict(zip(names, sess.run(None, feed), strict=True))
        for n in groups:
            x = np.abs(outs[n][mask])  # real tokens only
            m = x.max(axis=0)
            amax[n] = m if amax[n] is None else np.maximum(amax[n], m)
    for n, nodes in groups.items():
        weights = [numpy_helper.to_array(inits[node.input[1]]) for node in nodes]
        wmax = np.max([np.abs(w).max(axis=1) for w in weights], axis=0)
        s = (np.maximum(amax[n], 1e-5) ** alpha) / (np.maximum(wmax, 1e-5) ** (1 - alpha))
        s = s.astype(np.float32)
        inv = f"{n}_smooth_inv"
        sm = f"{n}_smoothed"
        graph.initializer.append(numpy_helper.from_array((1.0 / s).astype(np.float32), inv))
        mul = onnx.helper.make_node("Mul", [n, inv], [sm], name=f"{nodes[0].name}_smooth")
        # insert before the first consumer
        index = list(graph.node).index(nodes[0])
        graph.node.insert(index, mul)
        for node, w in zip(nodes, weights, strict=True):
            init = inits[node.input[1]]
            init.CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(np.float32), init.name))
            node.input[0] = sm
    onnx.save(model, str(out))


def fake_weights(source: Path, out: Path, bits: int = 8) -> None:
    """Weights quantized per output channel and dequantized again: the weight error alone, run in fp32."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    inits = {i.name: i for i in model.graph.initializer}
    top = 2 ** (bits - 1) - 1
    for node in weight_matmuls(model):
        init = inits[node.input[1]]
        w = numpy_helper.to_array(init)
        scale = np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-12) / top
        init.CopyFrom(numpy_helper.from_array((np.round(w / scale) * scale).astype(np.float32), init.name))
    onnx.save(model, str(out))


def fake_per_token(source: Path, out: Path, levels: float = 127.0, weights: bool = True) -> None:
    """Each weight MatMul's input quantized per token (symmetric, one scale per row) and dequantized again, with
    the weights quantized per output channel: what a per-token int8 GEMM would compute, run in fp32."""
    import onnx
    from onnx import helper, numpy_helper

    if weights:
        fake_weights(source, out)
        source = out
    model = onnx.load(str(source))
    graph = model.graph
    graph.initializer.append(numpy_helper.from_array(np.array(levels, np.float32), "ptq_levels"))
    graph.initializer.append(numpy_helper.from_array(np.array(1e-8, np.float32), "ptq_eps"))
    done: dict[str, str] = {}
    for node in weight_matmuls(model):
        x = node.input[0]
        if x not in done:
            p = f"{x}_ptq"
            new = [
                helper.make_node("Abs", [x], [p + "_abs"]),
                helper.make_node("ReduceMax", [p + "_abs"], [p + "_max"], axes=[-1], keepdims=1),
                helper.make_node("Max", [p + "_max", "ptq_eps"], [p + "_maxe"]),
                helper.make_node("Div", [p + "_maxe", "ptq_levels"], [p + "_s"]),
                helper.make_node("Div", [x, p + "_s"], [p + "_d"]),
                helper.make_node("Round", [p + "_d"], [p + "_r"]),
                helper.make_node("Mul", [p + "_r", p + "_s"], [p]),
            ]
            index = list(graph.node).index(node)
            for k, n in enumerate(new):
                graph.node.insert(index + k, n)
            done[x] = p
        node.input[0] = done[x]
    onnx.save(model, str(out))


def per_token_int8(source: Path, out: Path) -> None:
    """Every weight MatMul as a per-token int8 GEMM: its input quantized per row (symmetric, stored as uint8 around
    128 so MLAS's U8S8 kernel runs it), the weights per output channel, MatMulIntegerToFloat, then each row's
    scale. The quantizing is plain ONNX ops, one pass each: ONNX Runtime has no fused per-row quantizer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    graph.initializer.extend([
        numpy_helper.from_array(np.array(127.0, np.float32), "ptq_levels"),
        numpy_helper.from_array(np.array(1e-8, np.float32), "ptq_eps"),
        numpy_helper.from_array(np.array(128.0, np.float32), "ptq_128f"),
        numpy_helper.from_array(np.array(128, np.uint8), "ptq_zp_a"),
        numpy_helper.from_array(np.array(1.0, np.float32), "ptq_one"),
    ])  # fmt: skip
    done: dict[str, tuple[str, str]] = {}
    for node in weight_matmuls(model):
        x = node.input[0]
        if x not in done:
            p = f"{x}_ptq"
            new = [
                helper.make_node("Abs", [x], [p + "_abs"]),
                helper.make_node("ReduceMax", [p + "_abs"], [p + "_max"], axes=[-1], keepdims=1),
                helper.make_node("Max", [p + "_max", "ptq_eps"], [p + "_maxe"]),
                helper.make_node("Div", [p + "_maxe", "ptq_levels"], [p + "_s"]),
                helper.make_node("Div", [x, p + "_s"], [p + "_d"]),
                helper.make_node("Round", [p + "_d"], [p + "_r"]),
                helper.make_node("Add", [p + "_r", "ptq_128f"], [p + "_u"]),
                helper.make_node("Cast", [p + "_u"], [p + "_q"], to=TensorProto.UINT8),
            ]
            index = list(graph.node).index(node)
            for k, n in enumerate(new):
                graph.node.insert(index + k, n)
            done[x] = (p + "_q", p + "_s")
        xq, sx = done[x]
        w = numpy_helper.to_array(inits[node.input[1]])
        sw = np.maximum(np.abs(w).max(axis=0), 1e-12).astype(np.float32) / 127
        weight = node.input[1] + "_q"
        graph.initializer.extend([
            numpy_helper.from_array(np.round(w / sw).astype(np.int8), weight),
            numpy_helper.from_array(sw, weight + "_scale"),
            numpy_helper.from_array(np.zeros(w.shape[1], np.int8), weight + "_zp"),
        ])  # fmt: skip
        y = node.output[0]
        index = list(graph.node).index(node)
        inputs = [xq, weight, "ptq_one", weight + "_scale", "ptq_zp_a", weight + "_zp"]
        graph.node.remove(node)
        graph.node.insert(
            index, helper.make_node("MatMulIntegerToFloat", inputs, [y + "_rows"], domain="com.microsoft")
        )
        graph.node.insert(index + 1, helper.make_node("Mul", [y + "_rows", sx], [y]))
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    used = {i for n in graph.node for i in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:  # the fp32 weights nothing reads now
        graph.initializer.remove(init)
    onnx.save(model, str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    add_data_argument(parser)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--alphas", type=float, nargs="*", default=[0.5, 0.8], help="SmoothQuant strengths")
    parser.add_argument("--calibration", type=int, default=256, help="texts that set SmoothQuant's scales")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    logging.getLogger().setLevel(logging.ERROR)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from ls_pipeline.models.embedding import DEFAULT_MODEL, resolve_location
    from ls_pipeline.models.onnx_export import OnnxEmbedder, export
    from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder
    from ls_pipeline.models.onnx_int8 import _quantize
    from ls_pipeline.stages.embed import batch_order

    data = data_file(args.data, args.rows + args.calibration)
    frame = pd.read_parquet(data).drop_duplicates("text").sample(n=args.rows + args.calibration, random_state=1)
    all_texts = frame["text"].astype(str).tolist()
    texts, calibration = all_texts[: args.rows], all_texts[args.rows :]
    location, revision = resolve_location(DEFAULT_MODEL)
    folder = Path(tempfile.mkdtemp(prefix="ls-int8-act-"))
    st = __import__("sentence_transformers").SentenceTransformer(location, device="cpu")
    plain = folder / "plain.onnx"
    export(location, plain, st.tokenizer)
    feeds = []
    for i in range(0, len(calibration), 32):
        encoded = st.tokenizer(
            calibration[i : i + 32], padding=True, truncation=True, max_length=256, return_tensors="np"
        )
        feeds.append({k: np.asarray(encoded[k], dtype=np.int64) for k in _INPUTS})

    def make(path: Path) -> OnnxEmbedder:
        class Variant(OnnxEmbedder):
            def model_file(self, location: str, folder: Path, path: Path = path) -> Path:
                return path

        return Variant(DEFAULT_MODEL, location, revision)

    def dynamic(source: Path, out: Path) -> Path:
        quantize_dynamic(source, out, weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=activation_matmuls(source))  # fmt: skip
        return out

    models = {"shipped": folder / "shipped.onnx"}
    _quantize(plain, models["shipped"], st)
    models["weights-int8"] = dynamic(plain, folder / "weights-int8.onnx")
    fake_weights(plain, models.setdefault("fake-weights", folder / "fake-weights.onnx"))
    fake_per_token(plain, models.setdefault("fake-per-token", folder / "fake-per-token.onnx"), weights=False)
    fake_per_token(plain, models.setdefault("fake-per-token-w8", folder / "fake-per-token-w8.onnx"))
    for alpha in args.alphas:
        smooth(plain, folder / f"smooth-{alpha}-fp32.onnx", feeds, alpha)
        models[f"smooth-{alpha}"] = dynamic(folder / f"smooth-{alpha}-fp32.onnx", folder / f"smooth-{alpha}.onnx")
    per_token_int8(plain, models.setdefault("per-token", folder / "per-token.onnx"))
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ImportError:  # it needs onnx_ir, which the shipped venv does not have
        MatMulNBitsQuantizer = None  # noqa: N806
    if MatMulNBitsQuantizer is not None:
        import onnx

        from ls_pipeline.models.onnx_fp32 import ensure_fused_fp32_model
        from ls_pipeline.store.machine_cache import model_cache_dir
        from ls_pipeline.store.vector_cache import model_key

        fused = ensure_fused_fp32_model(location, model_cache_dir() / model_key(DEFAULT_MODEL, revision))
        for block in (32, 128):
            quantizer = MatMulNBitsQuantizer(
                onnx.load(str(fused)), bits=8, block_size=block, is_symmetric=True, accuracy_level=4
            )
            quantizer.process()
            path = models.setdefault(f"nbits8-b{block}", folder / f"nbits8-b{block}.onnx")
            quantizer.model.save_model_to_file(str(path), True)
    embedders: dict[str, Any] = {"fp32": OnnxFp32Embedder(DEFAULT_MODEL, location, revision)}
    embedders.update({name: make(path) for name, path in models.items()})
    print(f"{len(texts)} distinct Debian texts, batches of {args.batch_size}; load {load()}", flush=True)
    out = {name: np.zeros((len(texts), embedders["fp32"].dimensions), np.float32) for name in embedders}
    spent = dict.fromkeys(embedders, 0.0)
    for embedder in embedders.values():
        embedder.embed(texts[:8])
    for rows in batch_order(texts, args.batch_size):
        batch = [texts[i] for i in rows]
        for name, embedder in embedders.items():
            started = time.perf_counter()
            out[name][rows] = embedder.embed(batch)
            spent[name] += time.perf_counter() - started
    reference = out["fp32"]
    print("| variant | texts/s | x fp32 | cosine to fp32 (min / mean) | kNN overlap@10 with fp32 |")
    print("|---|---:|---:|---:|---:|")
    for name, vectors in out.items():
        cosine = (vectors * reference).sum(axis=1)
        print(f"| {name} | {len(texts) / spent[name]:.1f} | {spent['fp32'] / spent[name]:.2f} | "
              f"{cosine.min():.4f} / {cosine.mean():.5f} | {knn_overlap(reference, vectors):.3f} |")  # fmt: skip
    print(f"load after {load()}")



if __name__ == "__main__":
    main()
