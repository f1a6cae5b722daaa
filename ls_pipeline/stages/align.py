"""Registering a refitted map onto the map before it: a rigid alignment (rotation or reflection, one scale,
a shift) of the rows both maps hold, found by orthogonal Procrustes, so a reader's bearings survive a refit."""

from __future__ import annotations

import numpy as np


def rigid_onto(moving: np.ndarray, target: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """`moving` (every row) turned, scaled and shifted so its `shared` rows (indices) lie as close as a rigid map
    allows to the same rows of `target` (indexed like `moving`), then shrunk about the origin if it left [-1, 1]."""
    from scipy.linalg import orthogonal_procrustes

    a, b = moving[shared].astype(np.float64), target[shared].astype(np.float64)
    a_mean, b_mean = a.mean(axis=0), b.mean(axis=0)
    a0, b0 = a - a_mean, b - b_mean
    norm = float((a0**2).sum())
    if len(shared) < 3 or norm == 0:
        return moving.astype(np.float32)
    rotation, singular = orthogonal_procrustes(a0, b0)
    scale = float(singular) / norm
    out = (moving - a_mean) @ rotation * scale + b_mean
    reach = float(np.abs(out).max())
    return (out / max(reach, 1.0)).astype(np.float32)


def displacement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How far each row moved between two maps (Euclidean, in map units)."""
    return np.linalg.norm(a.astype(np.float64) - b.astype(np.float64), axis=1)
