"""fp32 embedding against the machine's limit: the fp32 GEMM rate measured in this run at the model's own shapes,
the FLOPs each text needs (from the model's shape and its real token count), and texts/s and % of that limit for
each way of running the default model, with each one's cosine to plain sentence-transformers.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 /work/main/.venv/bin/python bench/embed_gemm_limit.py --rows 512

The limit is GEMM rate / FLOPs per text counted on each text's own tokens (no padding): the work that has to be done.
"% of limit" is texts/s over that; "padded" is how many tokens a variant actually ran per real token.
Variants run one after another on the same texts; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

DATA = "/work/shared/data/debian-packages.parquet"
THREADS = 2


def gemm_rate(tokens: int, hidden: int, inter: int, repeats: int = 3) -> float:
    """FLOP/s of torch fp32 matmuls at one batch's shapes (QKV/out projections and both FFN matmuls), best of N."""
    import torch

    x, xi = torch.randn(tokens, hidden), torch.randn(tokens, inter)
    w, up, down = torch.randn(hidden, hidden), torch.randn(hidden, inter), torch.randn(inter, hidden)
    flops = 2 * tokens * (4 * hidden * hidden + 2 * hidden * inter)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(4):
                x @ w
            x @ up
            xi @ down
            best = min(best, time.perf_counter() - started)
    return flops / best


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


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--batch_size", type=int, default=64)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    from ls_pipeline.models.embedding import DEFAULT_MODEL, resolve_location
    from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder

    torch.set_num_threads(THREADS)
    texts = pd.read_parquet(DATA).sample(n=args.rows, random_state=0)["text"].astype(str).tolist()
    location, revision = resolve_location(DEFAULT_MODEL)
    st = SentenceTransformer(location, device="cpu")
    config = st[0].auto_model.config
    layers, hidden, inter = config.num_hidden_layers, config.hidden_size, config.intermediate_size
    lengths = np.array(
        [len(ids) for ids in st.tokenizer(texts, truncation=True, max_length=st.max_seq_length)["input_ids"]]
    )
    need = sum(flops_per_sequence(int(n), layers, hidden, inter) for n in lengths)
    shape = (args.batch_size * int(lengths.mean()), hidden, inter)
    rate = gemm_rate(*shape)
    limit = rate / (need / len(texts))
    print(f"{len(texts)} texts, {lengths.mean():.1f} tokens each (max {lengths.max()}); {layers} layers, hidden "
          f"{hidden}, intermediate {inter}; {THREADS} threads; load {load()}")  # fmt: skip
    print(f"fp32 GEMM rate {rate / 1e9:.1f} GFLOP/s; {need / len(texts) / 1e6:.0f} MFLOP a text; "
          f"limit {limit:.1f} texts/s")  # fmt: skip

    dim = st.get_sentence_embedding_dimension()
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
    ]  # fmt: skip
    print("| variant | texts/s | GEMM GFLOP/s beside it | % of limit | padded/real tokens | cosine to ST (min) |")
    print("|---|---:|---:|---:|---:|---:|")
    before = gemm_rate(*shape)
    for name, go, batches in variants:
        vectors, seconds = go()
        after = gemm_rate(*shape)  # the shared machine's load moves: the limit is measured beside each variant
        rate, before = (before + after) / 2, after
        limit = rate / (need / len(texts))
        padded = sum(len(b) * int(lengths[b].max()) for b in batches) / lengths.sum()
        speed = len(texts) / seconds
        cosine = float((vectors * reference).sum(axis=1).min())
        print(
            f"| {name} | {speed:.1f} | {rate / 1e9:.0f} | {100 * speed / limit:.0f}% | {padded:.2f} | {cosine:.6f} |",
            flush=True,
        )
    print(f"load after {load()}")


if __name__ == "__main__":
    main()
