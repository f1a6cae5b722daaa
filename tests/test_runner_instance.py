"""Each data directory gets its own Dagster instance, one after another in one process (a notebook's case), and
neither opening one nor running in it touches the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.partitions import add_missing, datasets
from ls_pipeline.runs import runner
from ls_pipeline.store import DataDir
from ls_pipeline.store.datadir import DATA_ENV


def test_two_data_directories_in_turn_run_in_their_own_instances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_frame: pd.DataFrame
) -> None:
    """An ingest run of each data directory while LATENT_SCOPE_DATA names a third: each run writes its own folder
    and lands in its own instance's history, and the environment is as it was throughout."""
    from ls_pipeline.definitions import defs

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "elsewhere"))
    before = dict(os.environ)
    source = tmp_path / "rows.csv"
    sample_frame.head(20).to_csv(source, index=False)
    homes = []
    for name in ("first", "second"):
        data = DataDir(tmp_path / name)
        with runner.open_instance(data) as instance:
            add_missing(instance, datasets, ["rows"])
            config = ingest_run_config(source, "text")
            runner.execute(defs.resolve_job_def("ingest_job"), instance, "rows", config, data)
            assert dict(os.environ) == before
            homes.append(Path(instance.root_directory).resolve())
            assert len(instance.get_run_records()) == 1
        assert data.dataset("rows").meta()["length"] == 20
    assert homes == [(tmp_path / name / "_dagster").resolve() for name in ("first", "second")]
    assert not (tmp_path / "elsewhere").exists() and dict(os.environ) == before


def test_ls_init_chooses_the_data_directory_without_touching_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ls_pipeline as ls
    from ls_pipeline import api

    monkeypatch.setattr(api, "_chosen", [])
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "elsewhere"))
    before = dict(os.environ)
    ls.init(tmp_path / "mine")
    assert api.data_dir().root == tmp_path / "mine" and dict(os.environ) == before


def test_an_instance_config_naming_the_old_launcher_module_follows_its_move(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data directory whose dagster.yaml was copied before the run launcher left defs/ still opens, and only the
    module line of its config changes (a user's own edits stay)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "_dagster"
    home.mkdir()
    new = "ls_pipeline.runs.run_launcher"
    old_config = runner.INSTANCE_CONFIG.read_text().replace(new, "ls_pipeline.defs.run_launcher") + "# mine\n"
    (home / "dagster.yaml").write_text(old_config)
    with runner.open_instance(DataDir(tmp_path)) as instance:
        assert type(instance.run_launcher).__module__ == new
    assert (home / "dagster.yaml").read_text() == old_config.replace("ls_pipeline.defs.run_launcher", new)
