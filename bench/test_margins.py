"""How far the clusterings the tests rely on are from their limits, over UMAP seeds and with vectors perturbed.

A test that asserts a clustering outcome (a noise share under a recipe's max_noise_share, at least N clusters)
passes on another CPU only if its outcome is far from the limit: another CPU's kernels change the vectors' last
bits, and a small clustering near a threshold flips. For each clustering a test relies on, this prints the noise
share and the cluster count over UMAP seeds (each an equally valid layout: a wider spread than a CPU change gives),
with the vectors as made here and moved by LS_PERTURB (models/perturb.py), beside the limits the test needs.

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/test_margins.py [--seeds 10] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.machine import SAMPLE, machine_line
from ls_pipeline.models.embedding import load_embedder
from ls_pipeline.stages import cluster as cluster_stage
from ls_pipeline.stages import embed as embed_stage
from ls_pipeline.stages.umap import UmapParams, project_for_clustering

TOPICS = ["maps and latent spaces", "cooking pasta at home", "rust compiler errors", "birds in the garden"]
PERTURB = "1e-5"


@dataclass(frozen=True)
class Case:
    name: str  # the test (or fixture) that relies on this clustering
    rows: int
    neighbors: int
    seed: int  # the UMAP seed the test uses
    min_cluster_size: int
    min_samples: int
    max_noise: float  # the limits the test needs (its recipe's checks, or its own assertion)
    min_clusters: int
    texts: str = "debian"  # debian: the first rows of the demo set (the tests' sample_frame); tweets: topic tweets


CASES = [
    Case("dagster_ui launchpad, before: neighbors 7, 15/5", 120, 7, 42, 15, 5, 0.6, 2),
    Case("dagster_ui launchpad: neighbors 10, 8/3", 120, 10, 42, 8, 3, 0.6, 2),
    Case("conftest SMALL_RECIPE (built_data, dagster_assets)", 300, 10, 7, 8, 3, 0.9, 2),
    Case("dagster_assets COARSE", 300, 10, 7, 20, 3, 0.9, 2),
    Case("labels_data fine_copy (>= 6 clusters)", 300, 10, 7, 5, 2, 0.99, 6),
    Case("pipeline_s3, secrets, before: SMALL_RECIPE on 60", 60, 10, 7, 8, 3, 0.9, 2),
    Case("pipeline_s3, secrets: TINY_RECIPE on 60", 60, 10, 7, 5, 2, 0.9, 2),
    Case("pipeline_s3 shared, before: size 8 on 80", 80, 10, 7, 8, 3, 0.9, 2),
    Case("pipeline_s3 shared, before: size 6 on 80", 80, 10, 7, 6, 3, 0.9, 2),
    Case("pipeline_s3 shared: TINY size 5 on 80", 80, 10, 7, 5, 2, 0.9, 2),
    Case("pipeline_s3 shared: TINY size 4 on 80", 80, 10, 7, 4, 2, 0.9, 2),
    Case("concurrency (80 rows)", 80, 10, 7, 5, 3, 0.95, 2),
    Case("pipeline fine (150 rows)", 150, 8, 42, 5, 2, 0.95, 2),
    Case("pipeline coarse (150 rows)", 150, 8, 42, 12, 4, 0.95, 2),
    Case("pipeline ls-run tiny (120 rows)", 120, 8, 42, 5, 2, 0.95, 2),
    Case("launchpad BASE (150 rows)", 150, 8, 3, 6, 2, 0.95, 1),
    Case("cluster_runs SMALL_RECIPE (600 rows)", 600, 10, 7, 8, 3, 0.9, 2),
    Case("cluster_runs size 6 (600 rows)", 600, 10, 7, 6, 3, 0.9, 2),
    Case("twitter_import tiny (48 tweets)", 48, 8, 42, 5, 2, 0.95, 2, "tweets"),
    Case("hosted/frontend import, default recipe (80 tweets)", 80, 25, 42, 15, 5, 0.6, 2, "tweets"),
    Case("hosted import upsert, default recipe (81 tweets)", 81, 25, 42, 15, 5, 0.6, 2, "tweets"),
]


def texts_of(case: Case) -> list[str]:
    if case.texts == "tweets":
        made = [f"{TOPICS[n % 4]}: thought number {n} about {TOPICS[n % 4].split()[0]}" for n in range(case.rows)]
        return made if case.rows <= 80 else made[:80] + ["maps and latent spaces: a brand new thought"]
    return pd.read_parquet(SAMPLE).head(case.rows)["text"].tolist()


def vectors_of(texts: list[str], perturbed: bool) -> np.ndarray:
    """The vectors the pipeline would store (embed_batches, where LS_PERTURB applies)."""
    # Set in this process's environment, as tests' --perturb does: the local models read LS_PERTURB there.
    os.environ["LS_PERTURB"] = PERTURB if perturbed else ""
    embedder, params = load_embedder(embed_stage.EmbedParams().model_id), embed_stage.EmbedParams()
    out = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    for rows, batch in embed_stage.embed_batches(texts, embedder, params):
        out[rows] = batch
    os.environ["LS_PERTURB"] = ""
    return out


def outcome(vectors: np.ndarray, case: Case, seed: int) -> tuple[float, int, int]:
    """(noise share, clusters, topics one level up) as steps.cluster finds them (the default 10D UMAP)."""
    params = cluster_stage.ClusterParams(case.min_cluster_size, case.min_samples, assign_noise=False)
    layout = UmapParams(neighbors=case.neighbors, seed=seed)
    points = project_for_clustering(vectors, layout, 10, None, params.umap_epochs)
    found = cluster_stage.cluster(points, params, levels=2)
    clusters = int(found.raw.max(initial=-1)) + 1
    topics = len(set(found.hierarchy[0].values())) if found.hierarchy else 0
    return cluster_stage.noise_share(found.raw), clusters, topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="UMAP seeds 0..N-1, besides the test's own")
    parser.add_argument("--only", nargs="*", default=None, help="cases whose name contains any of these")
    args = parser.parse_args()
    print(machine_line())
    cases = [c for c in CASES if not args.only or any(o in c.name for o in args.only)]
    print(f"{'case':52} {'vectors':9} {'own seed':>17}  {'seeds: noise share':>21}  {'clusters':>9}  topics  limits")
    for case in cases:
        texts = texts_of(case)
        for perturbed in (False, True):
            vectors = vectors_of(texts, perturbed)
            own = outcome(vectors, case, case.seed)
            spread = [outcome(vectors, case, s) for s in range(args.seeds)]
            noise, clusters = [s[0] for s in spread], [s[1] for s in spread]
            failed = sum(n > case.max_noise or c < case.min_clusters for n, c, _ in [own, *spread])
            print(
                f"{case.name[:52]:52} {'perturbed' if perturbed else 'as made':9} "
                f"{own[0]:.3f} {own[1]:3d} cl {own[2]:2d} t  "
                f"{min(noise):.3f}-{max(noise):.3f} (med {np.median(noise):.3f})  "
                f"{min(clusters):3d}-{max(clusters):<3d}  "
                f"{min(s[2] for s in spread):2d}-{max(s[2] for s in spread):<2d}  "
                f"noise <= {case.max_noise}, >= {case.min_clusters} clusters: {failed} of {len(spread) + 1} fail",
                flush=True,
            )
    print(machine_line())


if __name__ == "__main__":
    main()
