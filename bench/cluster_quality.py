"""Cluster quality against known labels: our default, alternatives and Latent Scope 1.0's defaults, same embeddings.

For each labelled set (bench/quality_data.py) and each clustering: NMI and adjusted Rand against the labels (noise
counts as one more group, so leaving rows out costs), cluster count, largest-cluster share, noise share, seconds
(clustering only; a higher-dimensional UMAP made for clustering adds its own time, shown in the row).
Latent Scope 1.0's defaults are read from its UI and CLI for 1k-10k rows: EVoC on the embeddings
(base_min_cluster_size 15, min_samples 5, n_neighbors 15, noise_level 0.5; we fix random_state 42) and HDBSCAN
15/5 on the 2D UMAP (our old default is the same).

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/cluster_quality.py [--sets debian fortunes]
Embeddings and UMAPs are cached in bench/results/ (quality-*.npz), so a rerun costs only the clusterings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_data  # noqa: E402

from bench.machine import add_data_argument, machine_line  # noqa: E402
from ls_pipeline.stages import cluster as cluster_stage  # noqa: E402
from ls_pipeline.stages.cluster import ClusterParams  # noqa: E402
from ls_pipeline.stages.umap import UmapParams, project, project_for_clustering  # noqa: E402

Method = Callable[["Spaces"], np.ndarray]


@dataclass
class Spaces:
    """What a clustering may run on: the embeddings, the 2D map, a 10D UMAP (made for clustering)."""

    name: str
    embeddings: np.ndarray
    xy: np.ndarray
    umap10: np.ndarray
    umap10_s: float


def spaces(data: quality_data.LabelledSet) -> Spaces:
    cache = quality_data.RESULTS / f"quality-{data.name}-umap.npz"
    if cache.is_file():
        stored = np.load(cache)
        return Spaces(data.name, data.embeddings, stored["xy"], stored["umap10"], float(stored["umap10_s"]))
    xy = project(data.embeddings, UmapParams())
    started = time.perf_counter()
    umap10 = project_for_clustering(data.embeddings, UmapParams(), 10)
    seconds = time.perf_counter() - started
    np.savez(cache, xy=xy, umap10=umap10, umap10_s=seconds)
    return Spaces(data.name, data.embeddings, xy, umap10, seconds)


def hdbscan_on(space: str, mcs: int | Callable[[int], int], ms: int | None, selection: str = "eom") -> Method:
    def run(s: Spaces) -> np.ndarray:
        import hdbscan

        points = getattr(s, space).astype(np.float64)
        size = mcs(len(points)) if callable(mcs) else mcs
        return hdbscan.HDBSCAN(
            min_cluster_size=size, min_samples=ms or size, cluster_selection_method=selection
        ).fit_predict(points)

    return run


def evoc_layer(which: str, mcs: int = 15, ms: int = 5) -> Method:
    def run(s: Spaces) -> np.ndarray:
        import evoc

        model = evoc.EVoC(base_min_cluster_size=mcs, min_samples=ms, n_neighbors=15, noise_level=0.5, random_state=42)
        labels = model.fit_predict(s.embeddings)
        layers = model.cluster_layers_
        return {"chosen": labels, "finest": layers[0], "second": layers[min(1, len(layers) - 1)]}[which]

    return run


def plscan_layer(space: str, which: str, mcs: int = 5) -> Method:
    def run(s: Spaces) -> np.ndarray:
        import fast_hdbscan

        model = fast_hdbscan.PLSCAN(base_min_cluster_size=mcs, reproducible=True)
        labels = model.fit_predict(getattr(s, space))
        return labels if which == "chosen" else model.cluster_layers_[0]

    return run


def assigned(method: Method, space: str) -> Method:
    """The method's clusters with each noise row moved to the cluster of its nearest clustered rows."""

    def run(s: Spaces) -> np.ndarray:
        raw = method(s)
        return cluster_stage.assign_noise(getattr(s, space), raw)

    return run


def ours(epochs: int | None | str = "default", seed: int = 42) -> Method:
    """The default recipe's clustering, through the cluster stage itself (its 10D UMAP made afresh, timed), with
    the 10D UMAP's epochs and seed given (epochs "default": the recipe's own; the seed varies to show the noise)."""

    def run(s: Spaces) -> np.ndarray:
        params = ClusterParams() if epochs == "default" else ClusterParams(umap_epochs=epochs)
        points = cluster_stage.clustering_space(params, s.xy, lambda: s.embeddings, UmapParams(seed=seed), None)
        found = cluster_stage.cluster(points, params, levels=2)
        topics = [len(set(m.values())) for m in found.hierarchy]
        print(f"  {found.cluster.max() + 1} clusters, topics per level above them {topics}", flush=True)
        noise = found.raw < 0 if not params.assign_noise else np.zeros(len(found.raw), dtype=bool)
        return np.where(noise, -1, found.cluster)

    return run


ours_now = ours()


def scaled(n: int) -> int:
    return max(5, round(n / 200))


METHODS: dict[str, tuple[Method, bool]] = {  # name -> (clustering, uses the 10D UMAP)
    "**ours now (default): hdbscan 15/5 leaf, 10D UMAP, noise assigned**": (ours_now, False),
    # The 10D UMAP's epochs (UMAP's own: 500 to 10,000 rows, 200 above), each at three seeds to show the noise.
    **{
        f"ours, 10D UMAP {epochs or 'UMAP-default'} epochs, seed {seed}": (ours(epochs, seed), False)
        for epochs in (None, 200, 100)
        for seed in (42, 1, 2)
    },
    "ours before = LS 1.0 HDBSCAN: hdbscan 15/5 eom, 2D": (hdbscan_on("xy", 15, 5), False),
    "LS 1.0 EVoC default: embeddings, 15/5 (its chosen layer)": (evoc_layer("chosen"), False),
    "EVoC 15/5, finest layer": (evoc_layer("finest"), False),
    "EVoC 15/5, second layer": (evoc_layer("second"), False),
    "hdbscan 15/5 leaf, 2D": (hdbscan_on("xy", 15, 5, "leaf"), False),
    "hdbscan n/200 eom, 2D": (hdbscan_on("xy", scaled, 5), False),
    "hdbscan n/200 leaf, 2D": (hdbscan_on("xy", scaled, 5, "leaf"), False),
    "hdbscan 15/5 eom, embeddings (cluster_on)": (hdbscan_on("embeddings", 15, 5), False),
    "hdbscan 15/5 eom, 10D UMAP": (hdbscan_on("umap10", 15, 5), True),
    "hdbscan 15/5 leaf, 10D UMAP": (hdbscan_on("umap10", 15, 5, "leaf"), True),
    "hdbscan n/200 leaf, 10D UMAP": (hdbscan_on("umap10", scaled, 5, "leaf"), True),
    "fast_hdbscan PLSCAN, 2D (chosen layer)": (plscan_layer("xy", "chosen"), False),
    "fast_hdbscan PLSCAN, 10D UMAP (chosen layer)": (plscan_layer("umap10", "chosen"), True),
    "fast_hdbscan PLSCAN, 10D UMAP (finest layer)": (plscan_layer("umap10", "finest"), True),
    "hdbscan 15/5 leaf, 10D UMAP, noise assigned": (assigned(hdbscan_on("umap10", 15, 5, "leaf"), "umap10"), True),
    "hdbscan n/200 leaf, 10D UMAP, noise assigned": (assigned(hdbscan_on("umap10", scaled, 5, "leaf"), "umap10"), True),
    "hdbscan 15/5 eom, 10D UMAP, noise assigned": (assigned(hdbscan_on("umap10", 15, 5), "umap10"), True),
    "hdbscan 15/5 leaf, 2D, noise assigned": (assigned(hdbscan_on("xy", 15, 5, "leaf"), "xy"), False),
    "EVoC 15/5 finest layer, noise assigned": (assigned(evoc_layer("finest"), "embeddings"), False),
}


def score(labels: np.ndarray, raw: np.ndarray) -> dict[str, float]:
    found = raw[raw >= 0]
    sizes = np.bincount(found) if len(found) else np.zeros(1)
    return {
        "nmi": normalized_mutual_info_score(labels, raw),
        "ari": adjusted_rand_score(labels, raw),
        "clusters": int((sizes > 0).sum()),
        "largest": float(sizes.max() / len(raw)),
        "noise": float((raw < 0).mean()),
    }


def run_set(name: str, only: list[str], debian_file: Path | None) -> list[dict[str, object]]:
    data = quality_data.load(name, debian_file)
    s = spaces(data)
    homogeneous = float(np.bincount(data.labels).max() / len(data.labels))
    print(f"{name}: {len(data.texts)} rows, {data.labels.max() + 1} labels, largest {homogeneous:.1%}", flush=True)
    rows = []
    for method_name, (method, uses_10d) in METHODS.items():
        if only and not any(o in method_name for o in only):
            continue
        started = time.perf_counter()
        raw = np.asarray(method(s))
        seconds = time.perf_counter() - started + (s.umap10_s if uses_10d else 0.0)
        rows.append({"set": name, "method": method_name, "seconds": seconds, **score(data.labels, raw)})
        print("  " + json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| set | clustering | NMI | ARI | clusters | largest | noise | s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['method']} | {r['nmi']:.3f} | {r['ari']:.3f} | {r['clusters']} "
            f"| {r['largest']:.1%} | {r['noise']:.1%} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(quality_data.LOADERS))
    parser.add_argument("--only", nargs="*", default=[], help="run the methods whose name contains one of these")
    add_data_argument(parser)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = [row for name in args.sets for row in run_set(name, args.only, args.data)]
    print(table(rows))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    (quality_data.RESULTS / "cluster-quality.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
