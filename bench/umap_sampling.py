"""What UMAP's fit_sample costs in quality: a full fit against fits on samples of several sizes plus transform.

    PYTHONPATH=$PWD python bench/umap_sampling.py --embedding ROOT/DATASET/EMBEDDING_ID [--label-column section]
        [--fit-samples 2000,5000,10000,20000,40000]
    PYTHONPATH=$PWD python bench/umap_sampling.py [--vectors /tmp/ls-million/standin.npy] [--rows 50000]

Data: an embedding of a data directory with a label column in its dataset (bench/real_text_run.py leaves every
Debian package description embedded, with its archive section), or bench/million.py's stand-in vectors (deb1k's
1,000 real embeddings plus noise: the label of row i is i % 1000, its source row). Each layout is scored on 2,000
probe rows, k = 10:
- kNN preservation: the share of a row's 10 nearest neighbours in the embedding (cosine) among its 10 nearest on
  the map;
- trustworthiness (Venna and Kaski) over the probes: 1 when every map neighbour is an embedding neighbour, lowered
  by how far down the embedding's ranking the intruders sit;
- agreement with the full fit: the share of a row's 10 nearest on the map that are among its 10 nearest on the
  full fit's map (a second full fit with another seed gives the floor: two full fits differ too);
- NMI of HDBSCAN on the map (cluster_on umap, the default min_cluster_size; noise one class) against the labels,
  and against the full fit's clustering.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

from bench.machine import load, machine_line
from ls_pipeline.stages.cluster import ClusterParams, cluster_points
from ls_pipeline.stages.umap import UmapParams, project

K = 10
PROBES = 2_000
CHUNK = 256
SEED = UmapParams().seed


def embedding_distances(space: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Cosine distance (up to a constant) from each of `rows` to every row of `space` (unit vectors)."""
    return -(space[rows] @ space.T)


def map_distances(xy: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return ((xy[rows, None, :] - xy[None, :, :]) ** 2).sum(axis=2)


def nearest(distances, space: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """The K nearest rows of each probe (itself excluded), exact, in chunks."""
    out = np.empty((len(probes), K), dtype=np.int64)
    for start in range(0, len(probes), CHUNK):
        rows = probes[start : start + CHUNK]
        dist = distances(space, rows)
        dist[np.arange(len(rows)), rows] = np.inf
        out[start : start + CHUNK] = np.argpartition(dist, K, axis=1)[:, :K]
    return out


def trustworthiness(vectors: np.ndarray, probes: np.ndarray, on_map: np.ndarray) -> float:
    """Venna and Kaski's trustworthiness at K, its sum over the probes instead of every row: each map neighbour
    outside the embedding's K nearest costs its embedding rank minus K."""
    n, penalty = len(vectors), 0.0
    for start in range(0, len(probes), CHUNK):
        rows = probes[start : start + CHUNK]
        dist = embedding_distances(vectors, rows)
        dist[np.arange(len(rows)), rows] = -np.inf  # a row is its own rank 0
        neighbour = np.take_along_axis(dist, on_map[start : start + CHUNK], axis=1)
        rank = (dist[:, None, :] < neighbour[:, :, None]).sum(axis=2)  # 1 = the nearest other row
        penalty += np.maximum(rank - K, 0).sum()
    return float(1 - 2 * penalty / (len(probes) * K * (2 * n - 3 * K - 1)))


def peak_gb() -> float:
    """This process's peak RSS so far: after the first (full) fit, that fit's."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / K for x, y in zip(a, b, strict=True)]))


def read_embedding(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    """ROOT/DATASET/EMBEDDING_ID: its vectors and the dataset's label column."""
    import pandas as pd

    from ls_pipeline.steps.embed import read_embeddings
    from ls_pipeline.store import DataDir

    ds = DataDir(path.parent.parent).dataset(path.parent.name)
    labels = pd.read_parquet(ds.path / "input.parquet", columns=[label_column])[label_column]
    return read_embeddings(ds, path.name), labels.astype(str).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding", type=Path, help="ROOT/DATASET/EMBEDDING_ID of a data directory")
    parser.add_argument("--label-column", default="section")
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/ls-million/standin.npy"))
    parser.add_argument("--rows", type=int, default=50_000, help="stand-in rows (with --vectors)")
    parser.add_argument("--fit-samples", default="2000,5000,10000,20000,40000")
    parser.add_argument("--no-floor", action="store_true", help="skip the second full fit (another seed)")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    if args.embedding:
        vectors, labels = read_embedding(args.embedding, args.label_column)
    else:
        vectors = np.load(args.vectors, mmap_mode="r")[: args.rows]
        labels = np.arange(len(vectors)) % 1000  # bench/million.py: row i copies real row i % 1000
    vectors = np.array(vectors, dtype=np.float32)  # a copy: the file may be memory-mapped read-only
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    n = len(vectors)
    probes = np.random.default_rng(1).choice(n, PROBES, replace=False)
    truth = nearest(embedding_distances, vectors, probes)
    cluster_params = ClusterParams(cluster_on="umap")
    print(f"{n:,} rows, {len(set(labels)):,} labels, {PROBES:,} probes, k={K}, {cluster_params.min_cluster_size=}")
    print(
        "| fit on | seconds | kNN preservation | trustworthiness | agreement with full fit | clusters | noise "
        "| NMI labels | NMI full fit | peak RSS | load |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        flush=True,
    )
    full_map = full_clusters = None
    samples = [int(s) for s in args.fit_samples.split(",") if s and int(s) < n]
    # A second full fit with another seed: how far two full fits differ, the floor the sampled fits are read against
    floor = [] if args.no_floor else [(n, SEED + 1)]
    for size, seed in [(n, SEED), *floor, *((s, SEED) for s in samples)]:
        started = time.perf_counter()
        xy = project(vectors, UmapParams(seed=seed, fit_sample=max(size, 1000))).astype(np.float32)
        seconds = time.perf_counter() - started
        on_map = nearest(map_distances, xy, probes)
        clusters = cluster_points(xy, cluster_params)[1]
        if full_map is None:
            full_map, full_clusters = on_map, clusters
        what = f"{'all ' if size == n else ''}{size:,}{f', seed {seed}' if seed != SEED else ''}"
        print(
            f"| {what} | {seconds:,.1f} | {overlap(truth, on_map):.3f} "
            f"| {trustworthiness(vectors, probes, on_map):.3f} | {overlap(full_map, on_map):.3f} "
            f"| {len(set(clusters)) - (-1 in clusters)} | {np.mean(clusters < 0):.2f} "
            f"| {normalized_mutual_info_score(labels, clusters):.3f} "
            f"| {normalized_mutual_info_score(full_clusters, clusters):.3f} | {peak_gb():.1f} GB | {load()} |",
            flush=True,
        )
    print(f"(load average at the end {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
