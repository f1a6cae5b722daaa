"""Pure stage functions on small arrays and frames: no data directory, no Dagster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ls_pipeline.errors import UserError
from ls_pipeline.stages import cluster, embed, ingest, label, scope
from ls_pipeline.stages import umap as project


def test_ingest_guesses_the_text_column_and_keeps_empty_texts_as_empty_strings() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "body": ["a long text here", None, "  "], "kind": ["x", "y", "x"]})
    rows, column, empty = ingest.prepare(frame, ingest.IngestParams())
    assert column == "body" and empty == 2
    assert rows["body"].tolist() == ["a long text here", "", "  "]


@pytest.mark.parametrize(
    ("frame", "params", "message"),
    [
        (pd.DataFrame({"t": ["a"]}), ingest.IngestParams("missing"), "unknown text column 'missing'"),
        (pd.DataFrame({"n": [1, 2]}), ingest.IngestParams("n"), "not text"),
        (pd.DataFrame({"t": [None, ""]}, dtype=object), ingest.IngestParams("t"), "every value"),
        (pd.DataFrame({"t": []}, dtype=object), ingest.IngestParams(), "no rows"),
        (pd.DataFrame([[1, "a"]], columns=["x", "x"]), ingest.IngestParams(), "duplicate column"),
    ],
)
def test_ingest_refuses_bad_frames(frame: pd.DataFrame, params: ingest.IngestParams, message: str) -> None:
    with pytest.raises(UserError, match=message):
        ingest.prepare(frame, params)


def test_profile_describes_types_extents_and_categories() -> None:
    frame = pd.DataFrame({"n": [3, 1, None], "c": ["a", "b", "a"], "t": pd.to_datetime(["2024-01-02"] * 3)})
    profile = ingest.profile_columns(frame)
    assert profile["n"] == {"type": "number", "unique_values_count": 2, "null_count": 1, "extent": [1.0, 3.0]}
    assert profile["c"]["categories"] == ["a", "b"] and profile["c"]["type"] == "string"
    assert profile["t"]["type"] == "date"


def test_mixed_object_columns_become_storable_text() -> None:
    frame = pd.DataFrame({"text": ["a b", "c d"], "mixed": [1, "two"]})
    rows, _, _ = ingest.prepare(frame, ingest.IngestParams())
    rows.to_parquet(pd.io.common.BytesIO())  # would raise on a mixed column
    assert rows["mixed"].tolist() == ["1", "two"]


def test_batches_group_similar_lengths_and_cover_every_row_once() -> None:
    texts = ["x" * n for n in (50, 1, 30, 2, 40, 3, 10)]
    batches = embed.batch_order(texts, 3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(7))
    assert [len(texts[i]) for i in batches[0]] == [1, 2, 3]
    assert all((np.diff(b) > 0).all() for b in batches)


def test_scale_keeps_aspect_ratio_within_unit_square() -> None:
    xy = np.array([[0, 0], [10, 2], [4, 1]], dtype=np.float32)
    scaled = project.scale_to_unit(xy)
    assert scaled[:, 0].min() == -1 and scaled[:, 0].max() == 1
    assert np.isclose(scaled[:, 1].max() - scaled[:, 1].min(), 0.4)


def test_umap_refuses_fewer_distinct_rows_than_neighbors() -> None:
    vectors = np.repeat(np.eye(4, dtype=np.float32), 10, axis=0)  # 40 rows, 4 distinct
    with pytest.raises(UserError, match="4 distinct of 40 rows"):
        project.project(vectors, project.UmapParams(neighbors=5))


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (project.UmapParams, {"neighbors": 0}),
        (project.UmapParams, {"min_dist": -0.1}),
        (cluster.ClusterParams, {"min_cluster_size": 1}),
        (cluster.ClusterParams, {"min_samples": 0}),
        (cluster.ClusterParams, {"method": "kmeans"}),
        (embed.EmbedParams, {"batch_size": 0}),
        (label.LabelParams, {"terms": 0}),
    ],
)
def test_params_refuse_out_of_range_values(cls: type, kwargs: dict[str, object]) -> None:
    with pytest.raises(UserError):
        cls(**kwargs)


def test_clusters_are_numbered_by_size_with_noise_last() -> None:
    raw = np.array([1, 1, 0, 0, 0, -1, 2, -1, 1, 0])
    assert cluster.renumber_by_size(raw).tolist() == [1, 1, 0, 0, 0, 3, 2, 3, 1, 0]
    assert cluster.noise_share(raw) == 0.2


def test_real_hdbscan_finds_separated_blobs_and_hulls_enclose_them() -> None:
    rng = np.random.default_rng(0)
    xy = np.vstack([rng.normal(c, 0.03, size=(60, 2)) for c in ((-0.5, -0.5), (0.5, 0.5))]).astype(np.float32)
    params = cluster.ClusterParams(min_cluster_size=10, min_samples=5, selection="eom", cluster_on="umap")
    assigned, raw = cluster.cluster_points(xy, params)
    assert len(set(raw[raw >= 0])) == 2
    summary = cluster.summarize(xy, assigned, raw)
    first = summary[~summary["noise"]].iloc[0]
    assert set(first["hull"]) <= set(first["indices"]) and len(first["hull"]) >= 3


def test_fast_hdbscan_takes_a_map_read_from_parquet_in_fortran_order() -> None:
    """A map read back as two parquet columns is Fortran order; fast_hdbscan's kd-tree refused it (bench/million.py)."""
    rng = np.random.default_rng(0)
    xy = np.vstack([rng.normal(c, 0.03, size=(60, 2)) for c in ((-0.5, -0.5), (0.5, 0.5))]).astype(np.float32)
    params = cluster.ClusterParams(10, 5, method="fast_hdbscan", selection="eom", cluster_on="umap")
    _, raw = cluster.cluster_points(np.asfortranarray(xy), params)
    assert len(set(raw[raw >= 0])) == 2


def test_cluster_checks_report_each_broken_limit() -> None:
    checks = cluster.ClusterChecks(max_noise_share=0.3, min_clusters=2, max_clusters=10)
    assert cluster.check_clustering(5, 0.1, checks) == []
    problems = cluster.check_clustering(1, 0.5, checks)
    assert len(problems) == 2 and "noise share 0.50" in problems[0]


def test_the_way_out_of_a_failed_check_says_when_the_dataset_is_small_for_its_clusters() -> None:
    assert cluster.way_out(3000, 15) == "change the recipe's cluster parameters or its checks"
    small = cluster.way_out(120, 15)  # room for eight clusters of 15: a seed or a CPU moves the outcome
    assert small.startswith("120 rows leave room for few clusters of min_cluster_size 15")
    assert "lower min_cluster_size (to about 8) or loosen the recipe's checks" in small
    assert "(to about 2)" in cluster.way_out(30, 30)


def test_keyword_labels_come_from_the_cluster_own_words_and_are_distinct() -> None:
    texts = ["python testing library", "python test runner", "python testing tools"] * 3 + [
        "rust cargo crate",
        "rust crate library",
        "cargo rust build",
    ] * 3
    assigned = np.array([0] * 9 + [1] * 9)
    labels = label.keyword_labels(texts, assigned, [0, 1])
    assert labels[0].label.lower().startswith("python") and "rust" in labels[1].label.lower()
    assert labels[0].label != labels[1].label
    for cid, rows in ((0, texts[:9]), (1, texts[9:])):
        words = set(" ".join(rows).split())
        assert all(set(term.split()) <= words for term in labels[cid].terms)


def test_scope_rows_join_labels_by_cluster() -> None:
    labels = pd.DataFrame({"cluster": [0, 1], "label": ["A", "Unclustered"]})
    rows = scope.scope_rows(np.zeros((3, 2), np.float32), np.array([0, 1, 0]), np.array([0, -1, 0]), labels)
    assert rows["label"].tolist() == ["A", "Unclustered", "A"] and rows["ls_index"].tolist() == [0, 1, 2]


def test_umap_above_fit_sample_fits_a_sample_and_transforms_the_rest_near_their_blob() -> None:
    """Four separated blobs, 1,200 rows, fit_sample 1,000: the 200 transformed rows land next to their own blob's
    fitted rows; below the threshold the fingerprint fields are what they were before fit_sample existed."""
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(4, 16)) * 5
    blob = np.arange(1200) % 4
    vectors = (centers[blob] + rng.normal(size=(1200, 16))).astype(np.float32)
    params = project.UmapParams(neighbors=10, fit_sample=1000, metric="euclidean")
    xy = project.project(vectors, params)
    assert xy.shape == (1200, 2) and np.isfinite(xy).all()
    fitted = np.zeros(1200, dtype=bool)
    fitted[project.sample_rows(1200, params)] = True
    means = np.stack([xy[fitted & (blob == b)].mean(axis=0) for b in range(4)])
    nearest = np.linalg.norm(xy[~fitted, None, :] - means[None], axis=2).argmin(axis=1)
    assert (nearest == blob[~fitted]).mean() > 0.95
    assert "fit_sample" not in params.layout_fields(1000)
    assert params.layout_fields(1001)["fit_sample"] == 1000
