"""Near-duplicate groups of an embedding through the data directory: duplicates/duplicates-NNN.parquet (ls_index,
group; group -1: no near-duplicate) with its threshold and counts in the sidecar."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.stages import duplicates as duplicates_stage
from ls_pipeline.steps.embed import read_embeddings
from ls_pipeline.store import tags
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import DUPLICATES, TABLE
from ls_pipeline.store.sidecars import DuplicatesSidecar, EmbeddingSidecar, params_record


def duplicates(ds: Dataset, embedding_id: str, params: duplicates_stage.DuplicatesParams) -> Artifact:
    source: EmbeddingSidecar = ds.sidecar("embedding", embedding_id)
    fields = {"threshold": params.threshold, "neighbors": params.neighbors}
    fp = fingerprint("duplicates", duplicates_stage.CODE_VERSION, fields, {embedding_id: source.fingerprint})

    def build(staging: Staging) -> dict[str, Any]:
        groups = duplicates_stage.near_duplicate_groups(read_embeddings(ds, embedding_id), params)
        table = pd.DataFrame({"ls_index": np.arange(len(groups), dtype=np.int64), "group": groups})
        table.to_parquet(staging.path(TABLE), index=False)
        grouped = groups != duplicates_stage.ALONE
        return {
            "embedding_id": embedding_id,
            **params_record(params),
            "dataset": ds.name,
            "inputs": {embedding_id: source.fingerprint},
            "rows": len(groups),
            "groups": int(groups.max() + 1) if grouped.any() else 0,
            "grouped_rows": int(grouped.sum()),
            # what "keep one of each group" would leave out
            "extra_rows": len(duplicates_stage.keep_one_of_each(groups)),
        }

    return produce(ds, DUPLICATES.name, fp, build, packages=["faiss-cpu", "scipy"])


TAG = "near-duplicates"


def tag_groups(ds: Dataset, duplicates_id: str) -> list[int]:
    """Make the tag `near-duplicates` hold exactly the rows of the groups (a tag edit, in the tags' history, so undo
    works): the explorer filters by it and charts it beside the other tags. Returns its rows."""
    rows = np.flatnonzero(read_groups(ds, duplicates_id) != duplicates_stage.ALONE).tolist()
    have = tags.read(ds, TAG)
    if have is None:
        tags.create(ds, TAG)
        have = []
    if set(have) != set(rows):
        tags.change(ds, TAG, add=sorted(set(rows) - set(have)), remove=sorted(set(have) - set(rows)))
    return rows


def read_groups(ds: Dataset, duplicates_id: str) -> np.ndarray:
    """The group of each row, in ls_index order (-1: none)."""
    ds.sidecar(DUPLICATES.name, duplicates_id)
    table = read_stored_table(ds.file(DUPLICATES, duplicates_id, TABLE))
    return table.sort_values("ls_index")["group"].to_numpy(np.int32)


def newest(ds: Dataset) -> DuplicatesSidecar | None:
    """The dataset's newest near-duplicate groups made of as many rows as it has now, if any."""
    length = int(ds.meta().get("length", 0))
    found = [s for s in ds.sidecars(DUPLICATES.name) if s.rows == length]
    return found[-1] if found else None
