"""Project: UMAP from the embedding space to 2D, scaled into [-1, 1] with the aspect ratio kept."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ls_pipeline.errors import UserError
from ls_pipeline.jit_cache import cached_import
from ls_pipeline.params import BOOLEAN, integer, number, param, validate
from ls_pipeline.stages import exact_knn

CODE_VERSION = "2"  # 2: the kNN graph is computed apart from UMAP (so it can be reused) above 4096 rows
# Placement on an earlier map has its own version, so changing it leaves fresh layouts' fingerprints alone.
PLACE_VERSION = "2"  # 2: a new row whose vector equals a mapped row's takes that row's point exactly
# A map redrawn with the clusters as targets has its own version, so changing it leaves fresh layouts alone.
REDRAW_VERSION = "1"
ALIGN_VERSION = "1"
REFIT_EPOCHS = 100
REFIT_LEARNING_RATE = 0.03
log = logging.getLogger(__name__)

# We compute the neighbour graph apart and reuse it across UMAP runs with the same neighbours (the map and the 10D
# UMAP the default clusters on share one): an exact graph at any size, an NNDescent one from this many rows. Below
# it UMAP computes all pairwise distances itself (UMAP's own threshold), through sklearn calling UMAP's numba metric
# from Python once per pair: for an exact metric several times slower than our graph (docs/performance.md), and paid
# again by the 10D UMAP; so only a metric we cannot compute exactly is left to it.
KNN_MIN_ROWS = 4096
# Up to this many rows that graph is exact (blocked inner products); above, NNDescent. NNDescent's numba compile (in
# every process: it cannot be cached) plus its search cost more than exact search below about 80,000 rows on an idle
# machine (bench/knn_exact.py; docs/performance.md); the cut keeps a margin for load.
EXACT_KNN_MAX_ROWS = 60_000
EXACT, NNDESCENT = "exact", "nndescent"
# Above fit_sample distinct rows, the rest is placed by UMAP's transform this many rows at a time (bounded memory).
TRANSFORM_CHUNK = 50_000

Knn = tuple[np.ndarray, np.ndarray]  # (indices, distances), one row per distinct vector
KnnSource = Callable[[np.ndarray, "UmapParams", str], Knn]  # (distinct vectors, params, EXACT or NNDESCENT)


@dataclass(frozen=True)
class UmapParams:
    neighbors: int = param(25, "UMAP's n_neighbors: more keeps more of the global structure", integer(2))
    min_dist: float = param(0.1, "UMAP's min_dist: how tightly points may pack", number(0, 1))
    seed: int = param(42, "random seed (fixed: the same inputs give the same map)", integer(0))
    metric: str = param("cosine", "distance between vectors")
    # False: rows added to a dataset since an earlier map are placed on that map (UMAP transform), every other
    # point staying where it was. True: lay out every row afresh.
    fresh_layout: bool = param(False, "lay out every row afresh (default: new rows join the last map)", BOOLEAN)
    # Placing keeps every point but cannot open room for a topic the map never had; a refit can, and is registered
    # onto the earlier map (started from its points, then rigidly aligned on the rows both hold). The default is
    # measured in docs/living-maps.md.
    refit_share: float = param(
        0.1, "refit (aligned onto the earlier map) when more than this share of rows is new; else place them",
        number(0, 1),
    )  # fmt: skip
    # Fitting on a seeded sample and transforming the rest bounds a layout's time and memory, at a price in local
    # structure that grows as the sample's share of the rows falls (docs/performance.md, "What sampling costs"). A
    # full fit of 250,000 rows took 260 s and 2.2 GB here, so every dataset up to that size is fitted whole.
    fit_sample: int = param(
        250_000, "above this many rows UMAP fits on a seeded sample of this size and transforms the rest", integer(1000)
    )

    def __post_init__(self) -> None:
        validate(self)

    def layout_fields(self, rows: int = 0) -> dict[str, object]:
        """What decides a layout of `rows` rows (fresh_layout only decides whether an earlier one is kept).
        fit_sample only where it applies, so the fingerprints of layouts below it are what they were before it."""
        fields: dict[str, object] = {
            "neighbors": self.neighbors,
            "min_dist": self.min_dist,
            "seed": self.seed,
            "metric": self.metric,
        }
        if rows > self.fit_sample:
            fields["fit_sample"] = self.fit_sample
        elif self.knn_method(rows) == EXACT:  # layouts of other sizes keep their fingerprints (NNDescent's or UMAP's)
            fields["knn"] = EXACT
        return fields

    def knn_method(self, rows: int) -> str:
        """How the neighbour graph of an embedding of `rows` rows is computed (NNDescent's only from KNN_MIN_ROWS
        distinct rows): decided by the rows, which the fingerprint knows before the vectors are read. Exact below
        4096 rows since UMAP's own small-data path was replaced: those layouts' fingerprints say knn: exact too."""
        exact = 0 < rows <= min(EXACT_KNN_MAX_ROWS, self.fit_sample) and exact_knn.supports(self.metric)
        return EXACT if exact else NNDESCENT

    def samples(self, distinct_rows: int) -> bool:
        return distinct_rows > self.fit_sample


def distinct(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows and, per input row, the index of its distinct row: duplicates are laid out once."""
    unique, inverse = np.unique(vectors, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def project(vectors: np.ndarray, params: UmapParams, knn: KnnSource | None = None) -> np.ndarray:
    """2D coordinates, one row per vector. Exact duplicates are laid out once and share their point.
    `knn(unique_vectors, params, method)` supplies the neighbour graph (e.g. from a cache); by default it is
    computed here."""
    return scale_to_unit(_layout(vectors, params, knn, 2))


def refit_from(vectors: np.ndarray, start: np.ndarray, params: UmapParams, knn: KnnSource | None = None) -> np.ndarray:
    """A layout started from `start` (a point per row: an earlier map's, new rows where placing puts them) and
    optimized gently: UMAP's full schedule from there rearranges the earlier map as much as a fresh fit would, while
    REFIT_EPOCHS at REFIT_LEARNING_RATE keep its bearings and still mend the neighbourhoods placing cannot
    (docs/living-maps.md)."""
    return _layout(vectors, params, knn, 2, REFIT_EPOCHS, init=start, learning_rate=REFIT_LEARNING_RATE)


def project_without(
    vectors: np.ndarray, excluded: np.ndarray, params: UmapParams, knn: KnnSource | None = None
) -> np.ndarray:
    """A layout fitted on the rows not `excluded` (a boolean per row); the excluded rows are then placed on it, so
    every row keeps a point while none of them pulls the layout."""
    if not excluded.any():
        return project(vectors, params, knn)
    xy = np.zeros((len(vectors), 2), dtype=np.float32)
    xy[~excluded] = project(vectors[~excluded], params, knn)
    xy[excluded] = place(vectors[excluded], vectors[~excluded], xy[~excluded], params)
    return xy


def project_for_clustering(
    vectors: np.ndarray, params: UmapParams, dims: int, knn: KnnSource | None = None, epochs: int | None = None
) -> np.ndarray:
    """A `dims`-dimensional UMAP of the same neighbour graph, to cluster on while the map stays 2D: more room keeps
    apart topics a 2D layout squeezes together (bench/cluster_quality.py). min_dist 0 packs each cluster tight,
    as UMAP's documentation advises for clustering. `epochs`: UMAP's n_epochs (None: UMAP's own choice)."""
    return _layout(vectors, dataclasses.replace(params, min_dist=0.0), knn, dims, epochs)


def _layout(
    vectors: np.ndarray,
    params: UmapParams,
    knn: KnnSource | None,
    dims: int,
    epochs: int | None = None,
    init: np.ndarray | None = None,
    **options: Any,
) -> np.ndarray:
    unique, inverse = distinct(vectors)
    if len(unique) <= params.neighbors:
        raise UserError(
            f"UMAP needs more distinct rows than neighbors: {len(unique)} distinct of {len(vectors)} rows, "
            f"neighbors={params.neighbors}; lower neighbors below {len(unique)} or add rows"
        )
    log.info("UMAP to %dD on %d distinct of %d rows (neighbors=%d)", dims, len(unique), len(vectors), params.neighbors)
    if params.samples(len(unique)):
        return _sampled_umap(unique, params, dims, epochs)[inverse]
    graph, method = None, params.knn_method(len(vectors))
    if method == EXACT or len(unique) >= KNN_MIN_ROWS:
        graph = (knn or knn_graph)(unique, params, method)
    if init is not None:  # one start per distinct row: the first of its duplicates'
        _, first = np.unique(inverse, return_index=True)
        options["init"] = np.asarray(init, dtype=np.float64)[first]
    return _umap(unique, params, graph, dims, epochs, **options)[inverse]


def project_with_targets(
    vectors: np.ndarray,
    params: UmapParams,
    targets: np.ndarray,
    weight: float,
    knn: KnnSource | None = None,
) -> np.ndarray:
    """A 2D map laid out with each row's cluster (`targets`, one id per row) as a categorical target at `weight`:
    UMAP's semi-supervised mode weakens the neighbour graph's edges between clusters, so a cluster holds together
    on the map while the embedding's own neighbourhoods still shape it (bench/map_quality.py). A fresh layout
    (spectral start, UMAP's own epochs): starting from the map as drawn kept fewer of the text's neighbourhoods
    for about the same time. Duplicates share one point."""
    unique, inverse = distinct(vectors)
    if params.samples(len(unique)) or len(unique) <= params.neighbors:
        raise ValueError(f"a map with targets is laid out from at most fit_sample={params.fit_sample} distinct rows")
    first = np.zeros(len(unique), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]  # each distinct vector's first row
    graph, method = None, params.knn_method(len(vectors))
    if method == EXACT or len(unique) >= KNN_MIN_ROWS:
        graph = (knn or knn_graph)(unique, params, method)
    reducer = _reducer(params, 2, graph, target_metric="categorical", target_weight=weight)
    with _quiet():
        xy = np.asarray(reducer.fit_transform(unique, y=np.asarray(targets)[first]), dtype=np.float32)
    return scale_to_unit(xy[inverse])


def knn_graph(unique: np.ndarray, params: UmapParams, method: str) -> Knn:
    """The neighbour graph of the distinct vectors: exact, or UMAP's own approximate search."""
    if method == EXACT:
        return exact_knn.exact_knn(unique, params.neighbors, params.metric)
    return nndescent_graph(unique, params)


def nndescent_graph(unique: np.ndarray, params: UmapParams) -> Knn:
    """UMAP's own approximate neighbour search (NNDescent), called as UMAP.fit calls it for a fixed seed."""
    from sklearn.utils import check_random_state

    indices, distances, _ = cached_import("umap.umap_").nearest_neighbors(
        unique, params.neighbors, params.metric, {}, False, check_random_state(params.seed), n_jobs=1
    )
    return np.asarray(indices), np.asarray(distances)


def _umap(
    vectors: np.ndarray,
    params: UmapParams,
    knn: Knn | None = None,
    dims: int = 2,
    epochs: int | None = None,
    **options: Any,
) -> np.ndarray:
    reducer = _reducer(params, dims, knn, epochs, **options)
    with _quiet():
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)


def sample_rows(n: int, params: UmapParams) -> np.ndarray:
    """The rows a sampled layout is fitted on: params.fit_sample of n, seeded, in order."""
    return np.sort(np.random.default_rng(params.seed).choice(n, params.fit_sample, replace=False))


def _sampled_umap(unique: np.ndarray, params: UmapParams, dims: int, epochs: int | None = None) -> np.ndarray:
    """UMAP fitted on a sample, every other row placed by UMAP's transform (its own NNDescent index over the
    sample, a few epochs refining the new points against the fixed sample), TRANSFORM_CHUNK rows at a time."""
    fit_rows = sample_rows(len(unique), params)
    rest = np.setdiff1d(np.arange(len(unique)), fit_rows)
    log.info(
        "UMAP fitted on %d of %d distinct rows (fit_sample); %d rows by transform",
        len(fit_rows),
        len(unique),
        len(rest),
    )
    reducer = _reducer(params, dims, None, epochs)  # no precomputed graph: transform needs UMAP's own search index
    xy = np.empty((len(unique), dims), dtype=np.float32)
    with _quiet():
        xy[fit_rows] = reducer.fit_transform(unique[fit_rows])
        for start in range(0, len(rest), TRANSFORM_CHUNK):
            chunk = rest[start : start + TRANSFORM_CHUNK]
            xy[chunk] = reducer.transform(unique[chunk])
            log.info("UMAP transform: %d of %d rows placed", min(start + TRANSFORM_CHUNK, len(rest)), len(rest))
    return xy


def _reducer(params: UmapParams, dims: int, knn: Knn | None, epochs: int | None = None, **options: Any) -> Any:
    # numba compiles on import and first call: keep it off the import path of the CLI and viewer
    return cached_import("umap").UMAP(
        n_neighbors=params.neighbors,
        min_dist=params.min_dist,
        metric=params.metric,
        random_state=params.seed,
        n_components=dims,
        n_epochs=epochs,
        precomputed_knn=knn or (None, None, None),
        **options,
    )


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        # A fixed seed turns off parallelism; UMAP warns about it every run. We choose reproducibility.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        # Without the search index a full layout cannot transform new points later; it never does (place() does).
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        yield


def place(new: np.ndarray, reference: np.ndarray, reference_xy: np.ndarray, params: UmapParams) -> np.ndarray:
    """Positions for new vectors on an existing map, as UMAP's transform starts them: each new row's fuzzy
    membership to its nearest reference rows (UMAP's own smooth_knn_dist and membership strengths), then the
    membership-weighted mean of those rows' positions (UMAP's init_graph_transform).

    UMAP then refines the new points for a few epochs; we skip that, so the map stays inside [-1, 1] and exactly as
    the user saw it. The neighbours are exact (cosine on normalized vectors): the reference is what the map holds.
    A new vector equal to a reference vector takes that row's point, as exact duplicates share one point in a fresh
    layout (the weighted mean of its neighbours would pull it towards them).
    """
    import scipy.sparse
    from sklearn.preprocessing import normalize

    umap_ = cached_import("umap.umap_")
    compute_membership_strengths, smooth_knn_dist = umap_.compute_membership_strengths, umap_.smooth_knn_dist

    k = min(params.neighbors, len(reference))
    ref = normalize(reference.astype(np.float32))
    indices = np.empty((len(new), k), dtype=np.int64)
    distances = np.empty((len(new), k), dtype=np.float32)
    twin = np.full(len(new), -1, dtype=np.int64)  # per new row: a reference row with the very same vector, or -1
    for start in range(0, len(new), 1024):  # bounded memory: 1024 x reference similarities at a time
        chunk = slice(start, start + 1024)
        sims = normalize(new[chunk].astype(np.float32)) @ ref.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1)
        indices[chunk] = np.take_along_axis(top, order, axis=1)
        distances[chunk] = np.clip(1 - np.take_along_axis(top_sims, order, axis=1), 0, 2)
        twin[chunk] = _twins(new[chunk], reference, indices[chunk])
    # As UMAP.transform does: local_connectivity one lower, since no new row is its own neighbour.
    sigmas, rhos = smooth_knn_dist(distances, float(k), local_connectivity=0.0)
    rows, cols, vals, _ = compute_membership_strengths(indices, distances, sigmas, rhos)
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(new), len(reference)))
    graph = normalize(graph, norm="l1").tocsr()
    xy = np.asarray(umap_.init_graph_transform(graph, reference_xy.astype(np.float32)), dtype=np.float32)
    xy[twin >= 0] = reference_xy[twin[twin >= 0]]
    return xy


def _twins(new: np.ndarray, reference: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Per new row, the first of its nearest reference rows whose vector is bit-for-bit equal to it, else -1.
    An equal vector has cosine 1, so it is among the nearest candidates: comparing those few is enough."""
    equal = (reference[candidates] == new[:, None, :]).all(axis=2)
    first = np.take_along_axis(candidates, equal.argmax(axis=1)[:, None], axis=1)[:, 0]
    return np.where(equal.any(axis=1), first, -1)


def scale_to_unit(xy: np.ndarray) -> np.ndarray:
    """Center on the bounding box and divide by the larger half-extent: the longer axis spans [-1, 1]."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    half = float((high - low).max()) / 2 or 1.0
    # clipped: float rounding put a corner at 1.0000001 for some layouts, outside the [-1, 1] the layout promises
    return np.clip((xy - (low + high) / 2) / half, -1.0, 1.0).astype(np.float32)
