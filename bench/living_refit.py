"""A refresh's map against the map before it: how far the rows both maps hold move, and how well the new map keeps
the embedding's neighbourhoods, for the ways a refresh can lay out its rows.

A map of the Debian sample without some sections is made as the pipeline makes it (UMAP, then redrawn with its
HDBSCAN clusters as targets); then rows of the held-out sections are added, a given share of the whole, and the
refreshed map is made four ways: placed (the earlier points kept, new rows placed), an unaligned refit (a fresh
UMAP), the unaligned refit rigidly aligned (Procrustes on the shared rows), and the registered refit (started from
the earlier points, a gentle schedule, then aligned: what ls-run does above refit_share). Per way: the shared
rows' median shift (map units; the map spans [-1, 1]) and neighbourhoods kept (the share of a row's 10 nearest
rows in the embedding among its 10 nearest on the map, every row), and seconds.

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/living_refit.py [--shares 0.1 0.2] [--rows 3000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.machine import add_data_argument, data_file, load, machine_line  # noqa: E402
from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder  # noqa: E402
from ls_pipeline.stages import align, map_quality  # noqa: E402
from ls_pipeline.stages import cluster as cluster_stage  # noqa: E402
from ls_pipeline.stages import umap as umap_stage  # noqa: E402

HELD_OUT = (
    "games", "science", "graphics", "sound", "fonts", "x11", "text", "web", "php", "ocaml", "lisp", "java", "ruby",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.1, 0.2])
    parser.add_argument("--rows", type=int, default=3000, help="the first this many distinct texts")
    add_data_argument(parser)
    args = parser.parse_args()
    frame = pd.read_parquet(data_file(args.data), columns=["section", "text"]).drop_duplicates("text")
    frame = frame.head(args.rows)
    held = frame["section"].isin(HELD_OUT).to_numpy()
    vectors = embed(frame["text"].tolist())
    print(machine_line(), flush=True)
    params = umap_stage.UmapParams()
    print("share  way           median_shift  neighbourhoods_kept  seconds")
    for share in args.shares:
        seen = np.flatnonzero(~held)
        new_rows = np.flatnonzero(held)[: int(round(share / (1 - share) * len(seen)))]
        old_v, all_v = vectors[seen], np.vstack([vectors[seen], vectors[new_rows]])
        old_xy = earlier_map(old_v, params)
        n_old, truth = len(seen), map_quality.embedding_neighbours(all_v)
        for way, make in ways(all_v, n_old, old_xy, params).items():
            started = time.perf_counter()
            xy = make()
            seconds = time.perf_counter() - started
            shift = float(np.median(align.displacement(xy[:n_old], old_xy)))
            kept = map_quality.neighbourhoods_kept(truth, xy)
            row = f"{len(new_rows) / len(all_v):5.2f}  {way:12s}  {shift:12.3f}  {kept:19.3f}  {seconds:7.1f}"
            print(row, flush=True)
    print(f"load after: {load()}")


def embed(texts: list[str], chunk: int = 256) -> np.ndarray:
    """The texts' vectors, a chunk at a time (bounded memory on a shared machine)."""
    embedder = load_embedder(DEFAULT_MODEL)
    return np.vstack([embedder.embed(texts[i : i + chunk]) for i in range(0, len(texts), chunk)])


def earlier_map(vectors: np.ndarray, params: umap_stage.UmapParams) -> np.ndarray:
    """The map a reader saw: the layout redrawn with its clusters as targets, as the default recipe draws it."""
    cparams = cluster_stage.ClusterParams()
    space = umap_stage.project_for_clustering(vectors, params, 10)
    clusters = cluster_stage.cluster(space, cparams).cluster
    return umap_stage.project_with_targets(vectors, params, clusters, float(cparams.map_target_weight or 0))


def ways(vectors: np.ndarray, n_old: int, old_xy: np.ndarray, params: umap_stage.UmapParams) -> dict:
    shared = np.arange(n_old)
    target = np.vstack([old_xy, np.full((len(vectors) - n_old, 2), np.nan, dtype=np.float32)])

    def placed() -> np.ndarray:
        return np.vstack([old_xy, umap_stage.place(vectors[n_old:], vectors[:n_old], old_xy, params)])

    def unaligned() -> np.ndarray:
        return umap_stage.project(vectors, params)

    def rigid() -> np.ndarray:
        return align.rigid_onto(umap_stage.project(vectors, params), target, shared)

    def registered() -> np.ndarray:
        start = placed()
        return align.rigid_onto(umap_stage.refit_from(vectors, start, params), target, shared)

    return {"placed": placed, "unaligned": unaligned, "rigid": rigid, "registered": registered}


if __name__ == "__main__":
    main()
