"""Maps that read: for each way of drawing the 2D map beside the clusters, how well it reads and what it keeps.

For each labelled set (bench/quality_data.py), with today's clustering (HDBSCAN leaf on a 10D UMAP, noise assigned)
unless a method makes its own: NMI against the labels, coherence (the share of a row's 10 nearest map neighbours
in its own cluster, every row counted, an unclustered row a miss), neighbourhoods kept (the share of a row's 10
nearest rows in the embedding among its 10 nearest on the map), cluster count, largest and unclustered shares,
and seconds (the map's layout, plus the clustering where a method makes its own).

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/map_quality.py [--sets demo debian fortunes ...]
The shared parts (neighbour graph, 10D UMAP, clustering, today's map) are cached in bench/results/map-*.npz.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_data  # noqa: E402

from bench.machine import add_data_argument, load, machine_line, markdown_table  # noqa: E402
from ls_pipeline.stages import cluster as cluster_stage  # noqa: E402
from ls_pipeline.stages import map_quality  # noqa: E402
from ls_pipeline.stages import umap as umap_stage  # noqa: E402
from ls_pipeline.stages.cluster import ClusterParams  # noqa: E402
from ls_pipeline.stages.umap import UmapParams  # noqa: E402


@dataclass
class Base:
    """What every method shares: the set, its neighbour graph, today's 10D UMAP, clustering and map."""

    data: quality_data.LabelledSet
    unique: np.ndarray
    inverse: np.ndarray
    knn: tuple[np.ndarray, np.ndarray]
    umap10: np.ndarray
    cluster: np.ndarray
    raw: np.ndarray
    xy: np.ndarray
    seconds: dict[str, float]
    nearest: np.ndarray  # 10 nearest rows in the embedding, per row


@dataclass
class Drawn:
    xy: np.ndarray
    cluster: np.ndarray
    unclustered: np.ndarray  # mask: rows the map shows in no cluster
    seconds: float


Method = Callable[[Base], Drawn]


def timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    out = run()
    return out, time.perf_counter() - started


def base(name: str, debian_file: Path | None = None) -> Base:
    data = quality_data.load(name, debian_file)
    params = UmapParams()
    unique, inverse = umap_stage.distinct(data.embeddings)
    knn = umap_stage.knn_graph(unique, params, params.knn_method(len(data.embeddings)))
    cache = quality_data.RESULTS / f"map-{name}.npz"
    # The same set name holds other rows when --data names another file: a cached map is only for its own vectors.
    digest = hashlib.sha256(data.embeddings.tobytes()).hexdigest()
    s = np.load(cache) if cache.is_file() else None
    if s is not None and str(s.get("digest", "")) == digest:
        seconds = json.loads(str(s["seconds"]))
        umap10, cluster, raw, xy = s["umap10"], s["cluster"], s["raw"], s["xy"]
    else:
        graph = lambda *_: knn  # noqa: E731
        cparams = ClusterParams()
        umap10, t10 = timed(lambda: umap_stage.project_for_clustering(data.embeddings, params, 10, graph, 200))
        found, tc = timed(lambda: cluster_stage.cluster(umap10, cparams))
        cluster, raw = found.cluster, found.raw
        xy, t2 = timed(lambda: umap_stage.project(data.embeddings, params, graph))
        seconds = {"umap10": t10, "hdbscan": tc, "map": t2}
        np.savez(
            cache, umap10=umap10, cluster=cluster, raw=raw, xy=xy, seconds=json.dumps(seconds), digest=np.array(digest)
        )
    nearest = map_quality.embedding_neighbours(data.embeddings)
    return Base(data, unique, inverse, knn, umap10, cluster, raw, xy, seconds, nearest)


def none_unclustered(b: Base) -> np.ndarray:
    return np.zeros(len(b.cluster), dtype=bool)


def today(b: Base) -> Drawn:
    return Drawn(b.xy, b.cluster, none_unclustered(b), b.seconds["map"])


def _reducer(b: Base, dims: int = 2, **kwargs: object) -> object:
    import umap

    params = UmapParams()
    options = {"n_neighbors": params.neighbors, "min_dist": params.min_dist, "metric": params.metric, **kwargs}
    return umap.UMAP(random_state=params.seed, n_components=dims, **options)


def from_10d(b: Base) -> Drawn:
    """A 2D UMAP of the 10D UMAP the clusters were found in."""

    def run() -> np.ndarray:
        reducer = _reducer(b, metric="euclidean")
        with umap_stage._quiet():
            return umap_stage.scale_to_unit(reducer.fit_transform(b.umap10))

    xy, seconds = timed(run)
    return Drawn(xy, b.cluster, none_unclustered(b), seconds)


def targets(weight: float, noise_unknown: bool = False, from_map: bool = False, epochs: int | None = None) -> Method:
    """A 2D UMAP of the embeddings (today's graph) with the clusters as categorical targets at `weight`: the
    pipeline's own redraw (umap.project_with_targets), or the same from today's map for `epochs`."""

    def method(b: Base) -> Drawn:
        labels = np.where(b.raw >= 0, b.cluster, -1) if noise_unknown else b.cluster
        if from_map:
            run = lambda: _from_map(b, labels, weight, epochs)  # noqa: E731
        else:
            graph = lambda *_: b.knn  # noqa: E731
            run = lambda: umap_stage.project_with_targets(b.data.embeddings, UmapParams(), labels, weight, graph)  # noqa: E731
        xy, seconds = timed(run)
        return Drawn(xy, b.cluster, none_unclustered(b), seconds)

    return method


def _from_map(b: Base, labels: np.ndarray, weight: float, epochs: int | None) -> np.ndarray:
    first = np.zeros(len(b.unique), dtype=np.int64)
    first[b.inverse[::-1]] = np.arange(len(b.inverse))[::-1]  # each distinct vector's first row
    reducer = _reducer(
        b, target_metric="categorical", target_weight=weight, precomputed_knn=(*b.knn, None), init=b.xy[first],
        n_epochs=epochs,
    )  # fmt: skip
    with umap_stage._quiet():
        return umap_stage.scale_to_unit(reducer.fit_transform(b.unique, y=labels[first]))[b.inverse]


def pulled(share: float) -> Method:
    """Today's map, each point moved `share` of the way towards its cluster's medoid-like centre (the median)."""

    def method(b: Base) -> Drawn:
        def run() -> np.ndarray:
            xy = b.xy.copy()
            for cid in np.unique(b.cluster):
                members = b.cluster == cid
                centre = np.median(xy[members], axis=0)
                xy[members] += share * (centre - xy[members])
            return umap_stage.scale_to_unit(xy)

        xy, seconds = timed(run)
        return Drawn(xy, b.cluster, none_unclustered(b), seconds)

    return method


def latent_scope_hdbscan(b: Base) -> Drawn:
    """Latent Scope 1.0's default: HDBSCAN 15/5 excess of mass on today's map, noise left out."""
    params = ClusterParams(selection="eom", cluster_on="umap", assign_noise=False)
    found, seconds = timed(lambda: cluster_stage.cluster(b.xy, params))
    noise = found.raw < 0
    return Drawn(b.xy, np.where(noise, -1, found.cluster), noise, b.seconds["map"] + seconds)


METHODS: dict[str, Method] = {
    "today: 2D UMAP of the embeddings": today,
    "LS 1.0: HDBSCAN eom on today's 2D map": latent_scope_hdbscan,
    "2D UMAP of the 10D UMAP": from_10d,
    "today's map pulled 0.3 to cluster medians": pulled(0.3),
    "today's map pulled 0.6 to cluster medians": pulled(0.6),
    **{f"clusters as targets, weight {w}": targets(w) for w in (0.05, 0.1, 0.2, 0.5)},
    "clusters as targets 0.1, noise unknown": targets(0.1, noise_unknown=True),
    "clusters as targets 0.1, from today's map, 200 epochs": targets(0.1, from_map=True, epochs=200),
}
DEFAULT = "clusters as targets, weight 0.1"  # the recipe's map_target_weight


def score(b: Base, drawn: Drawn) -> dict[str, float]:
    found = drawn.cluster[~drawn.unclustered]
    sizes = np.bincount(found) if len(found) else np.zeros(1)
    return {
        "nmi": normalized_mutual_info_score(b.data.labels, np.where(drawn.unclustered, -1, drawn.cluster)),
        "coherence": map_quality.coherence(drawn.xy, drawn.cluster, drawn.unclustered),
        "kept": map_quality.neighbourhoods_kept(b.nearest, drawn.xy),
        "clusters": int((sizes > 0).sum()),
        "largest": float(sizes.max() / len(drawn.cluster)),
        "unclustered": float(drawn.unclustered.mean()),
    }


def run_set(name: str, only: list[str], debian_file: Path | None) -> list[dict[str, object]]:
    b = base(name, debian_file)
    print(f"{name}: {len(b.data.texts)} rows, shared parts {json.dumps(b.seconds)}", flush=True)
    rows = []
    for method_name, method in METHODS.items():
        if only and not any(o in method_name for o in only):
            continue
        drawn = method(b)
        rows.append({"set": name, "method": method_name, "seconds": drawn.seconds, **score(b, drawn)})
        print("  " + json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    columns = [("set", "set", ""), ("map", "method", ""), ("NMI", "nmi", ".3f"), ("coherence", "coherence", ".3f")]
    columns += [("kept", "kept", ".3f"), ("clusters", "clusters", "d"), ("largest", "largest", ".1%")]
    return markdown_table(rows, [*columns, ("unclustered", "unclustered", ".1%"), ("s", "seconds", ".1f")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["demo", "debian", "fortunes", "debian-1k", "fortunes-1k"])
    parser.add_argument("--only", nargs="*", default=[], help="run the methods whose name contains one of these")
    add_data_argument(parser)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    print(f"load average before: {load()}")
    rows = [row for name in args.sets for row in run_set(name, args.only, args.data)]
    print(table(rows))
    print(f"load average after: {load()}")
    (quality_data.RESULTS / "map-quality.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
