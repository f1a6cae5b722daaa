"""Cluster quality against known labels: our default, alternatives and Latent Scope 1.0's defaults, same embeddings.

For each labelled set (bench/quality_data.py) and each clustering: NMI and adjusted Rand against the labels (noise
counts as one more group, so leaving rows out costs), cluster count, largest-cluster share, noise share, seconds
(clustering only; a higher-dimensional UMAP made for clustering adds its own time, shown in the row).
Latent Scope 1.0's defaults are read from its UI and CLI for 1k-10k rows: EVoC on the embeddings
(base_min_cluster_size 15, min_samples 5, n_neighbors 15, noise_level 0.5; we fix random_state 42) and HDBSCAN
15/5 on the 2D UMAP (our old default is the same).

With --labels: the default clustering's labels, the lift keywords of before and the keyphrases of now, scored
without an LLM: word precision and lift (how much more often a label's words occur in its cluster's rows than in
the rest), sorting accuracy (the share of rows whose most similar label under the local model is their own
cluster's), and how many topics repeat a child's label.

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/cluster_quality.py [--sets debian fortunes] [--labels]
[--data FILE]
Embeddings and UMAPs are cached in bench/results/ (quality-*.npz), so a rerun costs only the clusterings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_data  # noqa: E402

from bench.machine import add_data_argument, load, machine_line, markdown_table  # noqa: E402
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
    # The same set name holds other rows when --data names another file: cached maps are only for their own vectors.
    digest = hashlib.sha256(data.embeddings.tobytes()).hexdigest()
    stored = np.load(cache) if cache.is_file() else None
    if stored is not None and str(stored.get("digest", "")) == digest:
        return Spaces(data.name, data.embeddings, stored["xy"], stored["umap10"], float(stored["umap10_s"]))
    xy = project(data.embeddings, UmapParams())
    started = time.perf_counter()
    umap10 = project_for_clustering(data.embeddings, UmapParams(), 10)
    seconds = time.perf_counter() - started
    np.savez(cache, xy=xy, umap10=umap10, umap10_s=seconds, digest=np.array(digest))
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
    columns = [("set", "set", ""), ("clustering", "method", ""), ("NMI", "nmi", ".3f"), ("ARI", "ari", ".3f")]
    columns += [("clusters", "clusters", "d"), ("largest", "largest", ".1%"), ("noise", "noise", ".1%")]
    return markdown_table(rows, [*columns, ("s", "seconds", ".1f")])


# ---- label scores: how well a cluster's label names it, without an LLM -------------------------------------------
# Neither is what the keyphrase labeler optimizes (it ranks phrases by closeness to the cluster's own mean vector,
# one cluster at a time): both ask whether a label tells its cluster apart from the others.

_WORD = re.compile(r"(?u)\b[^\W\d_][^\W_]+\b")


def label_words(label: str) -> list[str]:
    """A label's distinct words, lowercased, stop words left out."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted({w for w in _WORD.findall(label.lower()) if w not in ENGLISH_STOP_WORDS})


def word_scores(texts: list[str], cluster: np.ndarray, labels: dict[int, str]) -> dict[str, float]:
    """Model-free: for each word of a cluster's label, the share of the rows holding it that are in the cluster
    (precision) and how many times more often the cluster's rows hold it than the other rows (lift, with half a
    row added to each count); averaged over a label's words, then over the labels (lift: geometric means)."""
    words = sorted({w for label in labels.values() for w in label_words(label)})
    index = {w: i for i, w in enumerate(words)}
    holds = np.zeros((len(texts), len(words)), dtype=bool)
    for row, text in enumerate(texts):
        for w in set(_WORD.findall(text.lower())) & index.keys():
            holds[row, index[w]] = True
    precision, lift = [], []
    for cid, label in labels.items():
        inside = cluster == cid
        columns = [index[w] for w in label_words(label)]
        if not columns:
            precision.append(0.0), lift.append(0.0)
            continue
        hits_in = holds[inside][:, columns].sum(axis=0)
        hits_out = holds[~inside][:, columns].sum(axis=0)
        precision.append(float(np.mean(hits_in / np.maximum(hits_in + hits_out, 1))))
        share_in = (hits_in + 0.5) / (inside.sum() + 1)
        share_out = (hits_out + 0.5) / ((~inside).sum() + 1)
        lift.append(float(np.mean(np.log(share_in / share_out))))
    return {"precision": float(np.mean(precision)), "lift": float(np.exp(np.mean(lift)))}


def sorting_accuracy(vectors: np.ndarray, cluster: np.ndarray, labels: dict[int, str], embed: Callable) -> float:
    """Embedding: the share of the labelled rows whose most similar label (the local model's cosine between the
    row's vector and the label's) is their own cluster's, as if the labels were the classes a reader sorts by."""
    ids = sorted(labels)
    label_vectors = embed([labels[c] for c in ids])
    rows = np.isin(cluster, ids)
    nearest = np.asarray(ids)[np.argmax(vectors[rows] @ label_vectors.T, axis=1)]
    return float((nearest == cluster[rows]).mean())


def parent_repeats(levels: list[dict[int, str]], maps: list[dict[int, int]], names: dict[int, str]) -> int:
    """How many topics carry the label of one of their children."""
    below, repeats = names, 0
    for level, mapping in zip(levels, maps, strict=False):
        repeats += sum(1 for child, parent in mapping.items() if below.get(child) == level.get(parent))
        below = level
    return repeats


def label_run(name: str, examples: int, debian_file: Path | None) -> list[dict[str, object]]:
    """The default clustering of a set (bench/map_quality.py's cache) labelled the old way (lift keywords) and the new
    (keyphrases re-ranked by the local model); their scores, time, and a few labels side by side."""
    import map_quality

    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
    from ls_pipeline.stages.embed import embed_texts
    from ls_pipeline.stages.label import LabelParams
    from ls_pipeline.stages.label.chat import Phrases, label_all
    from ls_pipeline.stages.label.keyphrases import cluster_centres

    b = map_quality.base(name, debian_file)
    found = cluster_stage.cluster(b.umap10, ClusterParams(), levels=2)
    defaults = cluster_stage.summarize(b.xy, found.cluster, found.raw)
    local = load_embedder(DEFAULT_MODEL)
    phrases = Phrases(lambda texts: embed_texts(texts, local), cluster_centres(b.data.embeddings, found.cluster))
    rows, named = [], {}
    for labeler, given in (("before: lift keywords", None), ("after: keyphrases, re-ranked", phrases)):
        started = time.perf_counter()
        out = label_all(b.data.texts, b.data.embeddings, b.xy, found.cluster, defaults, LabelParams(), None,
                        found.hierarchy, given)  # fmt: skip
        seconds = time.perf_counter() - started
        named_rows = out.table[~out.table["noise"]]
        names = dict(zip(named_rows["cluster"], named_rows["label"], strict=True))
        levels = [dict(zip(g["cluster"], g["label"], strict=True)) for _, g in out.levels.groupby("level")]
        named[labeler] = names
        rows.append({
            "set": name, "labeler": labeler, "clusters": len(names), "seconds": seconds,
            **word_scores(b.data.texts, found.cluster, names),
            "sorting": sorting_accuracy(b.data.embeddings, found.cluster, names, local.embed),
            "parent_repeats": parent_repeats(levels, found.hierarchy, names),
        })  # fmt: skip
        print("  " + json.dumps(rows[-1]), flush=True)
    sizes = np.bincount(found.cluster)
    for cid in sorted(named["before: lift keywords"], key=lambda c: -sizes[c])[:examples]:
        print(f"  | {sizes[cid]} | {' | '.join(n[cid] for n in named.values())} |")
    return rows


def label_table(rows: list[dict[str, object]]) -> str:
    columns = [("set", "set", ""), ("labeler", "labeler", ""), ("clusters", "clusters", "d")]
    columns += [("word precision", "precision", ".3f"), ("word lift", "lift", ".1f")]
    columns += [("sorting accuracy", "sorting", ".3f"), ("parents repeating a child", "parent_repeats", "d")]
    return markdown_table(rows, [*columns, ("s", "seconds", ".1f")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(quality_data.LOADERS))
    parser.add_argument("--only", nargs="*", default=[], help="run the methods whose name contains one of these")
    parser.add_argument("--labels", action="store_true", help="score the labels of the default clustering instead")
    parser.add_argument("--examples", type=int, default=12, help="with --labels: the largest clusters' labels shown")
    add_data_argument(parser)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    print(f"load average before: {load()}")
    if args.labels:
        rows = [row for name in args.sets for row in label_run(name, args.examples, args.data)]
        print(label_table(rows))
        print(f"load average after: {load()}")
        (quality_data.RESULTS / "label-quality.json").write_text(json.dumps(rows, indent=1))
        return
    rows = [row for name in args.sets for row in run_set(name, args.only, args.data)]
    print(table(rows))
    print(f"load average after: {load()}")
    (quality_data.RESULTS / "cluster-quality.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
