"""The exact neighbour graph UMAP gets below EXACT_KNN_MAX_ROWS: the true neighbours, in NNDescent's form, and
the fingerprint fields that say which layouts it makes."""

from __future__ import annotations

import numpy as np
import pytest

from ls_pipeline.stages import exact_knn
from ls_pipeline.stages import umap as umap_stage
from ls_pipeline.stages.umap import UmapParams


def brute_force(x: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric == "cosine":
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        dist = 1 - unit @ unit.T
    else:
        dist = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
    np.fill_diagonal(dist, -1)  # each row its own first neighbour
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return order, np.clip(np.take_along_axis(dist, order, axis=1), 0, None)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_knn_is_the_brute_force_graph_with_each_row_first(metric: str) -> None:
    x = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    indices, distances = exact_knn.exact_knn(x, 10, metric)
    expected_idx, expected_dist = brute_force(x.astype(np.float64), 10, metric)
    assert indices.dtype == np.int32 and distances.dtype == np.float32 and indices.shape == (300, 10)
    assert (indices[:, 0] == np.arange(300)).all() and (distances[:, 0] == 0).all()
    np.testing.assert_allclose(distances, expected_dist, atol=1e-4)
    same = [len(set(a) & set(b)) for a, b in zip(indices, expected_idx, strict=True)]
    assert np.mean(same) / 10 > 0.999  # ties at float32 rounding may swap a last neighbour
    assert (np.diff(distances, axis=1) >= -1e-6).all()


def test_a_row_nearly_equal_to_another_still_comes_first_in_its_own_list() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 8)).astype(np.float32)
    x[1] = x[0] * np.float32(1.0000001)  # cosine 1 to row 0: rounding may rank either first
    x[2] = x[0] * np.float32(3.0)
    indices, distances = exact_knn.exact_knn(x, 5, "cosine")
    for row in (0, 1, 2):
        assert indices[row, 0] == row and distances[row, 0] == 0
        assert {0, 1, 2} <= set(indices[row].tolist())
        assert len(set(indices[row].tolist())) == 5


def test_an_unsupported_metric_is_refused_and_left_to_nndescent() -> None:
    with pytest.raises(ValueError):
        exact_knn.exact_knn(np.ones((10, 3), np.float32), 3, "manhattan")
    assert UmapParams(metric="manhattan").knn_method(5000) == umap_stage.NNDESCENT


def test_only_layouts_with_an_exact_graph_change_their_fingerprint_fields() -> None:
    params = UmapParams()
    low, high = umap_stage.KNN_MIN_ROWS, umap_stage.EXACT_KNN_MAX_ROWS
    # Below 4096 rows too: UMAP's own pairwise neighbours (slow) gave way to our exact graph, and the fields say so.
    assert params.layout_fields(3000)["knn"] == "exact" and params.knn_method(100) == umap_stage.EXACT
    assert params.layout_fields(low)["knn"] == "exact" and params.layout_fields(high)["knn"] == "exact"
    assert "knn" not in params.layout_fields(high + 1)  # NNDescent, as before
    assert params.knn_method(low) == umap_stage.EXACT and params.knn_method(high + 1) == umap_stage.NNDESCENT
    # Above fit_sample the layout is fitted on a sample (no graph of ours): only fit_sample says so.
    sampled = UmapParams(fit_sample=5000)
    assert sampled.knn_method(6000) == umap_stage.NNDESCENT and "knn" not in sampled.layout_fields(6000)
    assert "knn" not in UmapParams(metric="manhattan").layout_fields(low)
    # The fields an earlier map is matched by (placement) are unchanged.
    assert "knn" not in params.layout_fields()
