"""Other runtimes for the default embedding, fp32 and int8, against the shipped fp32 default in one process: texts/s
(whole passes over the same real texts, the variants interleaved round by round so the shared machine's load hits
all alike) and quality: cosine to plain sentence-transformers (fp32 paths) and kNN overlap@10 with the shipped fp32
vectors (int8 paths; bench/embed_throughput.py's overlap code).

- shipped: load_embedder + embed_batches, as ls-embed runs it (ONNX Runtime fused graph, token-budget batches, one
  batch per core in flight on one-thread sessions);
- ov-*: OpenVINO reading the plain torch.onnx export (its own fusions), fp32 (INFERENCE_PRECISION_HINT f32), on
  the shipped path's batches: THROUGHPUT hint with one stream and one infer request per core (AsyncInferQueue), or
  LATENCY (one request on all cores, batches one after another);
- ov-int8*: OpenVINO running a QDQ model (ONNX Runtime's quantize_static, per-channel int8 weights, uint8
  activations, MinMax calibration on texts not in the measured rows); -mixed keeps the shipped int8 recipe's
  sensitive MatMuls fp32 (models/onnx_int8.kept_fp32);
- ct2-*: CTranslate2's converted BertModel (ct2-transformers-converter), compute_type float32 / int8 /
  int8_float32, one replica per core (inter_threads) fed one batch per core from two threads; mean pooling and
  normalization here.

    PYTHONPATH=$PWD:$PWD/.extra HF_HUB_OFFLINE=1 nice .venv/bin/python bench/embed_runtimes.py --rows 1000

Needs openvino and ctranslate2 importable (not in the shipped venv: a --target folder on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.embed_throughput import knn_overlap
from bench.machine import add_data_argument, data_file, load, machine_line

CALIBRATION_TEXTS = 256
FP32_MIN_COSINE = 0.999
INT8_MIN_OVERLAP = 0.95

Run = Callable[[list[str]], np.ndarray]  # all texts in, their vectors out (in row order)



def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the real tokens, then unit length: sentence-transformers' Pooling + Normalize."""
    m = mask.astype(np.float32)[..., None]
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def over_batches(texts: list[str], batches: list[np.ndarray], dim: int, forward: Callable, workers: int) -> np.ndarray:
    """Every batch through `forward` (texts -> vectors), `workers` batches in flight, into one row-ordered array."""
    out = np.zeros((len(texts), dim), np.float32)
    with ThreadPoolExecutor(workers) as pool:
        for rows, vectors in zip(batches, pool.map(forward, ([texts[i] for i in b] for b in batches)), strict=True):
            out[rows] = vectors
    return out


class OpenVino:
    """An ONNX file compiled by OpenVINO for the CPU; `hint` THROUGHPUT runs one stream (one thread) per core with an
    infer request each, LATENCY one request on all cores."""

    def __init__(self, path: Path, encode: Callable, hint: str, cores: int, precision: str = "f32") -> None:
        import openvino as ov

        config: dict[str, Any] = {"PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": precision}
        if hint == "THROUGHPUT":
            config["NUM_STREAMS"] = cores
        self._model = ov.Core().compile_model(str(path), "CPU", config)
        self._names = [i.any_name for i in self._model.inputs]
        self._encode, self.cores, self.hint = encode, cores, hint

    def run(self, texts: list[str], batches: list[np.ndarray], dim: int) -> np.ndarray:
        import openvino as ov

        out = np.zeros((len(texts), dim), np.float32)
        if self.hint == "LATENCY":
            request = self._model.create_infer_request()
            for rows in batches:
                enc = self._encode([texts[i] for i in rows])
                hidden = request.infer({n: enc[n] for n in self._names})[0]
                out[rows] = mean_pool(hidden, enc["attention_mask"])
            return out
        queue = ov.AsyncInferQueue(self._model, self.cores)
        masks: dict[int, np.ndarray] = {}

        def done(request: Any, rows: np.ndarray) -> None:
            out[rows] = mean_pool(request.get_output_tensor(0).data, masks.pop(id(rows)))

        queue.set_callback(done)
        for rows in batches:
            enc = self._encode([texts[i] for i in rows])
            masks[id(rows)] = enc["attention_mask"]
            queue.start_async({n: enc[n] for n in self._names}, rows)
        queue.wait_all()
        return out


class CTranslate2:
    """A ct2-transformers-converter folder run by ctranslate2.Encoder, one replica per core."""

    def __init__(self, folder: Path, encode: Callable, compute_type: str, cores: int) -> None:
        import ctranslate2

        self._encoder = ctranslate2.Encoder(
            str(folder), device="cpu", compute_type=compute_type, inter_threads=cores, intra_threads=1
        )
        self._encode, self.cores = encode, cores

    def forward(self, batch: list[str]) -> np.ndarray:
        enc = self._encode(batch)
        mask = enc["attention_mask"]
        ids = [row[: int(n)].tolist() for row, n in zip(enc["input_ids"], mask.sum(axis=1), strict=True)]
        hidden = np.asarray(self._encoder.forward_batch(ids).last_hidden_state)
        return mean_pool(hidden, mask[:, : hidden.shape[1]])


def quantize_qdq(plain: Path, out: Path, tokenizer_encode: Callable, calibration: list[str], keep: list[str]) -> None:
    """ONNX Runtime's static QDQ quantization (what OpenVINO reads as int8), MinMax over `calibration`."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Reader:
        def __init__(self) -> None:
            self._feeds = iter([tokenizer_encode(calibration[i : i + 16]) for i in range(0, len(calibration), 16)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    quantize_static(
        str(plain), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True, op_types_to_quantize=["MatMul"],
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=keep,
    )  # fmt: skip


def ct2_folder(location: str, folder: Path) -> Path:
    """The model converted by ct2-transformers-converter (its own CLI, run as a module of the same Python)."""
    if not (folder / "model.bin").is_file():
        code = "import sys; from ctranslate2.converters.transformers import main; sys.exit(main())"
        args = [sys.executable, "-c", code, "--model", location, "--output_dir", str(folder), "--force"]
        subprocess.run(args, check=True, capture_output=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    add_data_argument(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="run only the variants whose name holds one of these words")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    logging.getLogger().setLevel(logging.ERROR)
    import ctranslate2
    import openvino
    from sentence_transformers import SentenceTransformer

    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder, resolve_location
    from ls_pipeline.models.onnx_export import export
    from ls_pipeline.models.onnx_int8 import kept_fp32
    from ls_pipeline.stages.embed import BATCH_TOKENS_PER_TEXT, EmbedParams, embed_batches, token_budget_order

    data = data_file(args.data, args.rows)
    frame = pd.read_parquet(data).drop_duplicates("text")
    frame = frame.sample(n=args.rows + CALIBRATION_TEXTS, random_state=args.seed)
    all_texts = frame["text"].astype(str).tolist()
    texts, calibration = all_texts[: args.rows], all_texts[args.rows :]
    cores = os.cpu_count() or 1
    location, _ = resolve_location(DEFAULT_MODEL)
    shipped = load_embedder(DEFAULT_MODEL)
    encode, dim = shipped.tokenize, shipped.dimensions
    lengths = shipped.token_counts(texts)
    params = EmbedParams()
    batches = token_budget_order(lengths, params.batch_size * BATCH_TOKENS_PER_TEXT)  # the shipped path's batches
    print(f"openvino {openvino.__version__}, ctranslate2 {ctranslate2.__version__}; {len(texts)} distinct Debian "
          f"texts, {lengths.mean():.1f} tokens each, {len(batches)} token-budget batches; {cores} cores; load {load()}",
          flush=True)  # fmt: skip

    st = SentenceTransformer(location, device="cpu")
    order = np.argsort(lengths, kind="stable")
    reference = np.zeros((len(texts), dim), np.float32)
    for i in range(0, len(order), 64):
        rows = order[i : i + 64]
        reference[rows] = st.encode([texts[r] for r in rows], normalize_embeddings=True, show_progress_bar=False)

    work = Path(tempfile.mkdtemp(prefix="runtimes-bench-"))
    plain = work / "plain.onnx"
    export(location, plain, st.tokenizer)
    ct2 = ct2_folder(location, work / "ct2")

    def shipped_run(batch_texts: list[str]) -> np.ndarray:
        out = np.zeros((len(batch_texts), dim), np.float32)
        for rows, vectors in embed_batches(batch_texts, shipped, params):
            out[rows] = vectors
        return out

    makers: dict[str, Callable[[], Run]] = {"shipped": lambda: shipped_run}

    def ov(path: Path, hint: str) -> Callable[[], Run]:
        def make() -> Run:
            model = OpenVino(path, encode, hint, cores)
            return lambda t: model.run(t, batches, dim)

        return make

    def ct(compute_type: str) -> Callable[[], Run]:
        def make() -> Run:
            model = CTranslate2(ct2, encode, compute_type, cores)
            return lambda t: over_batches(t, batches, dim, model.forward, cores)

        return make

    def qdq(name: str, keep: bool) -> Path:
        import onnx

        out = work / f"{name}.onnx"
        names = [n.name for n in onnx.load(str(plain), load_external_data=False).graph.node]
        started = time.perf_counter()
        quantize_qdq(plain, out, encode, calibration, kept_fp32(names) if keep else [])
        print(f"quantized {name} (QDQ, {len(calibration)} calibration texts) in {time.perf_counter() - started:.1f} s")
        return out

    makers |= {
        "ov-fp32-throughput": ov(plain, "THROUGHPUT"),
        "ov-fp32-latency": ov(plain, "LATENCY"),
        "ct2-fp32": ct("float32"),
        "ov-int8": lambda: ov(qdq("qdq-all", keep=False), "THROUGHPUT")(),
        "ov-int8-mixed": lambda: ov(qdq("qdq-mixed", keep=True), "THROUGHPUT")(),
        "ct2-int8": ct("int8"),
        "ct2-int8_float32": ct("int8_float32"),
    }
    names = [n for n in makers if n == "shipped" or not args.only or any(w in n for w in args.only)]
    runs = {name: makers[name]() for name in names}
    vectors = {name: run(texts) for name, run in runs.items()}  # warm-up: every batch shape once, and the vectors
    print(f"warm-up done; load {load()}", flush=True)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        turn = names[round_ % len(names) :] + names[: round_ % len(names)]  # who goes first rotates
        for name in turn:
            started = time.perf_counter()
            runs[name](texts)
            seconds[name].append(time.perf_counter() - started)
        print(f"round {round_ + 1}: " + ", ".join(f"{n} {len(texts) / s[-1]:.1f}" for n, s in seconds.items())
              + f" texts/s; load {load()}", flush=True)  # fmt: skip

    fp32 = vectors["shipped"]
    print("\n| variant | texts/s (median of rounds) | x shipped fp32 (median of per-round ratios) | cosine to ST "
          "min / mean | cosine to shipped fp32 min | kNN overlap@10 with shipped fp32 | meets |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in names:
        ratio = statistics.median(a / b for a, b in zip(seconds["shipped"], seconds[name], strict=True))
        to_st = (vectors[name] * reference).sum(axis=1)
        to_fp32 = (vectors[name] * fp32).sum(axis=1)
        overlap = knn_overlap(fp32, vectors[name])
        if "int8" in name:
            meets = "yes" if ratio >= 2 and overlap >= INT8_MIN_OVERLAP else "no"
        else:
            meets = "yes" if ratio > 1 and to_st.min() >= FP32_MIN_COSINE else "no"
        print(f"| {name} | {len(texts) / statistics.median(seconds[name]):.1f} | {ratio:.2f} | {to_st.min():.6f} / "
              f"{to_st.mean():.6f} | {to_fp32.min():.4f} | {overlap:.3f} | {meets} |")  # fmt: skip
    print(f"load after {load()}")


if __name__ == "__main__":
    main()
