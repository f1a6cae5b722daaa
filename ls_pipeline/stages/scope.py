"""Scope: one explorable combination of embedding, projection, clustering and labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ls_pipeline.params import Check, param, validate

CODE_VERSION = "1"
_LABEL = Check(lambda v: isinstance(v, str) and bool(v.strip()), message="a scope needs a non-empty label")


@dataclass(frozen=True)
class ScopeParams:
    label: str = param("Default scope", "the scope's name in the viewer", _LABEL)
    description: str = param("", "a line about the scope")

    def __post_init__(self) -> None:
        validate(self)


def scope_rows(xy: np.ndarray, cluster: np.ndarray, raw: np.ndarray, labels: pd.DataFrame) -> pd.DataFrame:
    """One row per input row: x, y, cluster, raw_cluster, label, ls_index (Latent Scope's scope parquet)."""
    names = labels.set_index("cluster")["label"]
    return pd.DataFrame(
        {
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
            "cluster": cluster.astype(np.int32),
            "raw_cluster": raw.astype(np.int32),
            "label": names.reindex(cluster).to_numpy(),
            "ls_index": np.arange(len(xy), dtype=np.int64),
        }
    )


# Clusters and the topics above them (levels) share this shape; topics add level and children.
# colour: a slot in the viewer's palette, where a refresh carried an earlier cluster's colour over (else by id).
_LOOKUP = "cluster label description count noise hull terms labeler parent level children colour".split()


def cluster_lookup(labels: pd.DataFrame) -> list[dict[str, object]]:
    """Per cluster for the scope's JSON: everything but the member indices (the parquet has those)."""
    keep = [c for c in _LOOKUP if c in labels]
    return [
        {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in row.items()}
        for row in labels[keep].to_dict(orient="records")
    ]
