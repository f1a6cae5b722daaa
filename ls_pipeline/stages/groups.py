"""The rows of each group (a cluster, a topic) of a million-row assignment, found by one sort instead of a scan of
every row per group. Pure."""

from __future__ import annotations

import numpy as np


class Members:
    """Members(groups)(gid): the rows where `groups` == gid, ascending, as np.flatnonzero(groups == gid) gives."""

    def __init__(self, groups: np.ndarray) -> None:
        self._order = np.argsort(groups, kind="stable")  # rows ascending within each group
        self._sorted = np.asarray(groups)[self._order]

    def __call__(self, gid: int) -> np.ndarray:
        start, end = np.searchsorted(self._sorted, [gid, gid + 1])
        return self._order[start:end]
