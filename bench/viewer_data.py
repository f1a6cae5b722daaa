"""Bench data for the viewer: 'deb10k' (10,000 real Debian rows through the real pipeline, default recipe) and
'deb100k' (those rows tiled 10x into 100,000 rows).

deb100k is not re-run through the pipeline: its embedding matrix is the real 10k matrix tiled, its map the 10k map
tiled with a small jitter, its clusters and labels the 10k ones repeated. The viewer only reads these files, so its
latency is what is measured; embedding 100k rows on 2 CPU cores would take half an hour and say nothing about it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from bench.machine import add_data_argument, data_file
from ls_pipeline import steps
from ls_pipeline.recipe import load_recipe
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.store import DataDir

TILES = 10


def build_10k(data: DataDir, source: Path, rows: int = 10_000, name: str = "deb10k") -> str:
    frame = pd.read_parquet(source).head(rows).reset_index(drop=True)
    steps.ingest(data, name, frame, IngestParams(text_column="text"))
    artifacts = steps.run_recipe(data.dataset(name), load_recipe("default", data))
    return artifacts["scope"].id


def build_100k(
    data: DataDir, scope_id: str, small_name: str = "deb10k", big_name: str = "deb100k", tiles: int = TILES
) -> None:
    """`small_name` tiled `tiles` times into dataset `big_name` (the 10k one 10x by default)."""
    small, big = data.dataset(small_name), data.root / big_name
    if (big / "meta.json").is_file():
        return
    scope = json.loads(small.file("scope", scope_id, ".json").read_text())
    staging = data.root / f".{big_name}-staging"
    shutil.rmtree(staging, ignore_errors=True)
    for folder in ("embeddings", "scopes", "clusters"):
        (staging / folder).mkdir(parents=True)
    frame = pd.read_parquet(small.input_path)
    tiled = pd.concat([frame.assign(package=frame["package"] + f"~{t}") for t in range(tiles)], ignore_index=True)
    tiled.to_parquet(staging / "input.parquet", index=False)
    meta = json.loads(small.meta_path.read_text())
    meta.update(id=big_name, length=len(tiled), source=f"tiled from {small_name} x{tiles} (bench)")
    (staging / "meta.json").write_text(json.dumps(meta, indent=1))
    with h5py.File(small.file("embedding", scope["embedding_id"], ".h5"), "r") as handle:
        matrix = np.asarray(handle["embeddings"][...])
    with h5py.File(staging / "embeddings" / f"{scope['embedding_id']}.h5", "w") as handle:
        handle.create_dataset("embeddings", data=np.tile(matrix, (tiles, 1)))
    rows = pd.read_parquet(small.file("scope", scope_id, ".parquet"))
    rng = np.random.default_rng(0)
    parts = []
    for t in range(tiles):
        part = rows.copy()
        jitter = rng.normal(0, 0.004, size=(len(part), 2)).astype(np.float32) if t else 0
        part[["x", "y"]] = np.clip(part[["x", "y"]].to_numpy() + jitter, -1, 1)
        part["ls_index"] = rows["ls_index"] + t * len(rows)
        parts.append(part)
    pd.concat(parts, ignore_index=True).to_parquet(staging / "scopes" / f"{scope_id}.parquet", index=False)
    lookup = [{**c, "count": c["count"] * tiles} for c in scope["cluster_labels_lookup"]]
    sidecar = {**scope, "dataset": big_name, "rows": len(tiled), "cluster_labels_lookup": lookup}
    (staging / "scopes" / f"{scope_id}.json").write_text(json.dumps(sidecar))
    png = small.file("cluster", scope["cluster_id"], ".png")
    if png.is_file():
        shutil.copy(png, staging / "clusters" / png.name)
    staging.rename(big)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="/tmp/ls-bench-data", help="the data directory to build")
    add_data_argument(parser)
    args = parser.parse_args()
    root = args.root
    data = DataDir(Path(root))
    data.root.mkdir(parents=True, exist_ok=True)
    scope_id = build_10k(data, data_file(args.data, 10_000))
    build_100k(data, scope_id)
    print(f"bench data ready in {root}: deb10k/{scope_id}, deb100k/{scope_id}")


if __name__ == "__main__":
    main()
