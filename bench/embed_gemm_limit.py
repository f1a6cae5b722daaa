"""fp32 embedding against the machine's limit: the fp32 GEMM rate measured in this run at the model's own shapes,
the FLOPs each text needs (from the model's shape and its real token count), and texts/s and % of that limit for
each way of running the default model, with each one's cosine to plain sentence-transformers.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_gemm_limit.py --rows 512

The GEMM rate is the faster of two yardsticks at the model's matmul shapes (QKV/out projections, both FFN
matmuls, batch x mean tokens rows), on the same threads: torch's matmul, and ONNX Runtime's own MatMul (a one-node
graph per shape, run by a session made as the embedder makes its own, so MLAS's kernels are what is measured).
The limit is that rate / FLOPs per text counted on each text's own tokens (no padding): the work that has to be
done. "% of limit" is texts/s over that; "padded" is how many tokens a variant actually ran per real token.
Variants run one after another on the same texts; the rates are measured beside each and the load printed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bench.machine import add_data_argument, data_file, load, machine_line

THREADS = 2


def _matmul_flops(tokens: int, hidden: int, inter: int) -> int:
    return 2 * tokens * (4 * hidden * hidden + 2 * hidden * inter)


def torch_gemm_rate(tokens: int, hidden: int, inter: int, repeats: int = 3) -> float:
    """FLOP/s of torch fp32 matmuls at one batch's shapes (QKV/out projections and both FFN matmuls), best of N."""
    import torch

    x, xi = torch.randn(tokens, hidden), torch.randn(tokens, inter)
    w, up, down = torch.randn(hidden, hidden), torch.randn(hidden, inter), torch.randn(inter, hidden)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(4):
                x @ w
            x @ up
            xi @ down
            best = min(best, time.perf_counter() - started)
    return _matmul_flops(tokens, hidden, inter) / best


class OrtGemm:
    """ONNX Runtime's own fp32 MatMul at the same shapes: one single-node graph per weight shape, each in a session
    made by models/onnx_export.session (the embedder's threads and settings)."""

    def __init__(self, tokens: int, hidden: int, inter: int) -> None:
        from onnx import TensorProto, helper, numpy_helper

        from ls_pipeline.models.onnx_export import session

        folder = Path(tempfile.mkdtemp(prefix="ls-gemm-"))
        rng = np.random.default_rng(0)
        self._runs = []
        for k, n, times in ((hidden, hidden, 4), (hidden, inter, 1), (inter, hidden, 1)):
            weight = numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "w")
            graph = helper.make_graph(
                [helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n])], [weight],
            )  # fmt: skip
            path = folder / f"matmul-{k}x{n}.onnx"
            path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
            self._runs.append((session(path, THREADS), rng.standard_normal((tokens, k), dtype=np.float32), times))
        self._flops = _matmul_flops(tokens, hidden, inter)
        shutil.rmtree(folder)
        self.rate(1)  # the first run allocates

    def rate(self, repeats: int = 3) -> float:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            for sess, x, times in self._runs:
                for _ in range(times):
                    sess.run(None, {"x": x})
            best = min(best, time.perf_counter() - started)
        return self._flops / best


def flops_per_sequence(length: int, layers: int, hidden: int, inter: int) -> float:
    """Matmul FLOPs of one sequence of `length` tokens through the encoder: projections + FFN per token, and
    attention's QK^T and AV (each 2 * length^2 * hidden)."""
    per_token = 2 * (4 * hidden * hidden + 2 * hidden * inter)
    return layers * (length * per_token + 4 * length * length * hidden)


def sorted_batches(lengths: np.ndarray, size: int) -> list[np.ndarray]:
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + size] for i in range(0, len(order), size)]


def in_order_batches(count: int, size: int) -> list[np.ndarray]:
    return [np.arange(i, min(i + size, count)) for i in range(0, count, size)]


def token_budget_batches(lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Length-sorted batches that close when batch size x longest length would pass `budget` padded tokens."""
    batches, current = [], []
    for row in np.argsort(lengths, kind="stable").tolist():
        if current and (len(current) + 1) * lengths[row] > budget:
            batches.append(np.array(current))
            current = []
        current.append(row)
    return [*batches, np.array(current)] if current else batches


def run(embed: Callable[[list[str]], np.ndarray], texts: list[str], batches: list[np.ndarray], dim: int) -> tuple:
    out = np.zeros((len(texts), dim), np.float32)
    embed(texts[:8])  # warm
    started = time.perf_counter()
    for rows in batches:
        out[rows] = embed([texts[i] for i in rows])
    return out, time.perf_counter() - started


def run_whole(embed: Callable[[list[str]], np.ndarray], texts: list[str], dim: int) -> tuple:
    """All texts in one call, batched inside (as the embed step does); rows come back in the order given."""
    embed(texts[:8])  # warm
    started = time.perf_counter()
    out = embed(texts)
    return out, time.perf_counter() - started


def run_prefetched(onnx, texts: list[str], batches: list[np.ndarray], dim: int) -> tuple:
    """Tokenize batch i+1 in a thread while ONNX Runtime runs batch i (both release the GIL)."""
    out = np.zeros((len(texts), dim), np.float32)
    started = time.perf_counter()
    slot: dict[int, object] = {}

    def tokenize(i: int) -> None:
        slot[i] = onnx.tokenize([texts[r] for r in batches[i]])

    worker = threading.Thread(target=tokenize, args=(0,))
    worker.start()
    for i, rows in enumerate(batches):
        worker.join()
        encoded = slot.pop(i)
        if i + 1 < len(batches):
            worker = threading.Thread(target=tokenize, args=(i + 1,))
            worker.start()
        out[rows] = onnx.forward(encoded)
    return out, time.perf_counter() - started



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=512)
    add_data_argument(parser)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--only", nargs="*", help="run only the variants whose name holds one of these words")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    import torch
    from sentence_transformers import SentenceTransformer

    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder, resolve_location
    from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder
    from ls_pipeline.stages.embed import BATCH_TOKENS_PER_TEXT, EmbedParams, embed_batches, token_budget_order

    torch.set_num_threads(THREADS)
    data = data_file(args.data, args.rows)
    texts = pd.read_parquet(data).sample(n=args.rows, random_state=0)["text"].astype(str).tolist()
    location, revision = resolve_location(DEFAULT_MODEL)
    st = SentenceTransformer(location, device="cpu")
    config = st[0].auto_model.config
    layers, hidden, inter = config.num_hidden_layers, config.hidden_size, config.intermediate_size
    lengths = np.array(
        [len(ids) for ids in st.tokenizer(texts, truncation=True, max_length=st.max_seq_length)["input_ids"]]
    )
    need = sum(flops_per_sequence(int(n), layers, hidden, inter) for n in lengths)
    shape = (args.batch_size * int(lengths.mean()), hidden, inter)
    ort_gemm = OrtGemm(*shape)

    def rates() -> tuple[float, float]:
        return torch_gemm_rate(*shape), ort_gemm.rate()

    torch_rate, ort_rate = rates()
    limit = max(torch_rate, ort_rate) / (need / len(texts))
    print(f"{len(texts)} texts, {lengths.mean():.1f} tokens each (max {lengths.max()}); {layers} layers, hidden "
          f"{hidden}, intermediate {inter}; {THREADS} threads; load {load()}")  # fmt: skip
    print(f"fp32 GEMM at {shape[0]} x {hidden}/{inter}: torch {torch_rate / 1e9:.1f} GFLOP/s, ONNX Runtime MatMul "
          f"{ort_rate / 1e9:.1f}; {need / len(texts) / 1e6:.0f} MFLOP a text; limit {limit:.1f} texts/s")  # fmt: skip

    dim = (getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension)()
    ordered, by_length = in_order_batches(len(texts), args.batch_size), sorted_batches(lengths, args.batch_size)
    budget = token_budget_batches(lengths, args.batch_size * int(np.median(lengths)))

    def encode(batch: list[str]) -> np.ndarray:
        return st.encode(batch, batch_size=len(batch), normalize_embeddings=True, show_progress_bar=False)

    bare = st[0].auto_model
    tokenizer = st.tokenizer

    def torch_tuned(batch: list[str]) -> np.ndarray:  # inference_mode, SDPA attention, mean pool by hand
        enc = tokenizer(batch, padding=True, truncation=True, max_length=st.max_seq_length, return_tensors="pt")
        with torch.inference_mode():
            hid = bare(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hid * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    onnx = OnnxFp32Embedder(DEFAULT_MODEL, location, revision, threads=THREADS)
    shipped = load_embedder(DEFAULT_MODEL)  # what ls-embed runs: the default path as shipped (threads: the cores)

    def default(batch: list[str]) -> np.ndarray:
        out = np.zeros((len(batch), dim), np.float32)
        for rows, vectors in embed_batches(batch, shipped, EmbedParams(batch_size=args.batch_size)):
            out[rows] = vectors
        return out

    reference, _ = run(encode, texts, by_length, dim)
    variants = [
        ("sentence-transformers encode, batches in row order", lambda: run(encode, texts, ordered, dim), ordered),
        ("sentence-transformers encode, length-sorted (before)", lambda: run(encode, texts, by_length, dim), by_length),
        ("torch: inference_mode + SDPA, length-sorted", lambda: run(torch_tuned, texts, by_length, dim), by_length),
        ("ONNX Runtime fused, batches in row order", lambda: run(onnx.embed, texts, ordered, dim), ordered),
        ("ONNX Runtime fused, length-sorted", lambda: run(onnx.embed, texts, by_length, dim), by_length),
        ("ONNX Runtime fused, token-budget batches", lambda: run(onnx.embed, texts, budget, dim), budget),
        ("ONNX Runtime fused, length-sorted, next batch tokenized ahead",
         lambda: run_prefetched(onnx, texts, by_length, dim), by_length),
        ("**the default as shipped** (load_embedder + embed_batches: fused, token-budget batches)",
         lambda: run_whole(default, texts, dim), token_budget_order(lengths, args.batch_size * BATCH_TOKENS_PER_TEXT)),
    ]  # fmt: skip
    variants = [v for v in variants if not args.only or any(word in v[0] for word in args.only)]
    print("| variant | texts/s | GEMM GFLOP/s beside it: torch / ORT | % of limit | padded/real tokens | "
          "cosine to ST (min) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    before = rates()
    for name, go, batches in variants:
        vectors, seconds = go()
        after = rates()  # the shared machine's load moves: the limit is measured beside each variant
        pair, before = ((before[0] + after[0]) / 2, (before[1] + after[1]) / 2), after
        limit = max(pair) / (need / len(texts))
        padded = sum(len(b) * int(lengths[b].max()) for b in batches) / lengths.sum()
        speed = len(texts) / seconds
        cosine = float((vectors * reference).sum(axis=1).min())
        print(
            f"| {name} | {speed:.1f} | {pair[0] / 1e9:.0f} / {pair[1] / 1e9:.0f} | {100 * speed / limit:.0f}% | "
            f"{padded:.2f} | {cosine:.6f} |",
            flush=True,
        )
    print(f"load after {load()}")


if __name__ == "__main__":
    main()
