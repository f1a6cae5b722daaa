"""`ls-run` with nothing to do: answered without starting Dagster.

Importing Dagster and the definitions, opening the instance and executing a run of five reused stages is most of a
no-op `ls-run`. Where every stage of dataset x recipe exists already (steps.reused_recipe: the same fingerprints a
run would compute, nothing computed) and the instance's last `ls-run` of that partition recorded those very
artifacts, a new run would only record them again: the ids are printed and no run starts. Artifacts made without
Dagster (the API, `--no-dagster`) were never recorded, so the first `ls-run` after them still runs, and the UI
shows them. This module imports no Dagster, so the answer costs what reading the sidecars costs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ls_pipeline import settings, steps
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import load_recipe
from ls_pipeline.store.atomic import write_bytes
from ls_pipeline.store.datadir import DataDir

RECORD = "ls-run-recorded.json"  # in the instance's folder: a wiped instance forgets it too
log = logging.getLogger(__name__)


def instance_folder(data: DataDir) -> Path:
    """DAGSTER_HOME, else the data directory's Dagster folder (not created here)."""
    return Path(settings.get("DAGSTER_HOME") or data.dagster_home).expanduser().resolve()


def _key(dataset: str, recipe: str) -> str:
    return f"{dataset}\n{recipe}"


def _records(data: DataDir) -> dict[str, dict[str, str]]:
    path = instance_folder(data) / RECORD
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or unreadable: no run is skipped
        return {}
    return records if isinstance(records, dict) else {}


def record(data: DataDir, dataset: str, recipe: str, ids: dict[str, str]) -> None:
    """After a successful run: the artifacts the instance now holds for dataset x recipe."""
    records = _records(data)
    records[_key(dataset, recipe)] = ids
    folder = instance_folder(data)
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes(folder / RECORD, json.dumps(records, indent=1, sort_keys=True).encode("utf-8"))


def recorded_ids(data: DataDir, dataset: str, recipe: str) -> dict[str, str] | None:
    """The artifact ids of every stage where all exist and are what the instance last recorded; else None (run)."""
    recorded = _records(data).get(_key(dataset, recipe))
    if not recorded:
        return None
    try:
        artifacts = steps.reused_recipe(data.dataset(dataset), load_recipe(recipe, data))
    except UserError:  # no such dataset or recipe, a failed check: the run says so, in its own words
        return None
    if artifacts is None:
        return None
    ids = {kind: artifact.id for kind, artifact in artifacts.items()}
    if ids != recorded:
        return None
    log.info("every stage is done and recorded in the Dagster instance: no run started")
    return ids
