"""Each data directory gets its own Dagster instance, one after another in one process (a notebook's case), and
opening one leaves the environment as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ls_pipeline.runs import runner
from ls_pipeline.store import DataDir
from ls_pipeline.store.datadir import DATA_ENV


def test_two_data_directories_in_turn_open_their_own_instances(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv(DATA_ENV, "/somewhere/else")
    homes = []
    for name in ("first", "second"):
        data = DataDir(tmp_path / name)
        with runner.open_instance(data) as instance:
            assert os.environ[DATA_ENV] == str(data.root.resolve())
            homes.append(Path(instance.root_directory).resolve())
        assert "DAGSTER_HOME" not in os.environ and os.environ[DATA_ENV] == "/somewhere/else"
    assert homes == [(tmp_path / name / "_dagster").resolve() for name in ("first", "second")]


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
