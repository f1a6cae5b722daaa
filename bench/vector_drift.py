"""How far one text's vector moves with how it is computed, on this machine, beside LS_PERTURB's noise.

The pipeline embeds documents in batches on one-thread ONNX Runtime sessions; a search query is embedded alone on
all cores; sentence-transformers (torch) computes the same model with other kernels. Each differs from the
documents' vectors in the last bits, as another CPU's kernels do. This prints the largest difference per component
and the lowest cosine of each way against the pipeline's own, and of the vectors LS_PERTURB (tests' --perturb) makes.

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/vector_drift.py [--rows 300]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

from bench.machine import SAMPLE, machine_line
from ls_pipeline.models.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder, load_embedder
from ls_pipeline.stages import embed as embed_stage


def as_documents(texts: list[str]) -> np.ndarray:
    """The vectors the embed stage stores (token-budget batches, one-thread sessions)."""
    embedder = load_embedder(DEFAULT_MODEL)
    out = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    for rows, batch in embed_stage.embed_batches(texts, embedder, embed_stage.EmbedParams()):
        out[rows] = batch
    return out


def compare(name: str, ours: np.ndarray, other: np.ndarray) -> None:
    diff = float(np.abs(ours - other).max())
    a, b = ours.astype(np.float64), other.astype(np.float64)
    cosine = float(((a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())
    same = int((ours == other).all(axis=1).sum())
    print(f"| {name} | {diff:.1e} | {1 - cosine:.1e} | {same} of {len(ours)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    texts = pd.read_parquet(SAMPLE).head(args.rows)["text"].tolist()
    documents = as_documents(texts)
    print("| against the stored documents' vectors | largest difference | 1 - lowest cosine | rows bit for bit |")
    print("|---|---:|---:|---:|")
    compare("the same batches again", documents, as_documents(texts))
    query = load_embedder(DEFAULT_MODEL)
    compare("each text alone, all cores (a search query)", documents, np.vstack([query.embed([t]) for t in texts]))
    compare("sentence-transformers on torch", documents, SentenceTransformerEmbedder(DEFAULT_MODEL).embed(texts))
    os.environ["LS_PERTURB"] = "1e-5"  # what tests' --perturb sets; the local models read it from the environment
    compare("LS_PERTURB=1e-5 (tests' --perturb)", documents, as_documents(texts))
    print(machine_line(), flush=True)


if __name__ == "__main__":
    main()
