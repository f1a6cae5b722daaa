"""The project as Dagster's `dg` CLI sees it: `dg check defs` in a fresh copy of the checkout, as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).parent / "dg"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """pyproject.toml and the package, copied to a folder with nothing else in it (no .venv, no data, no .env)."""
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy)
    shutil.copytree(ROOT / "ls_pipeline", copy / "ls_pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def dg_check_defs(project: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH: the copy, not the editable install, is what dg's code server imports.
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "LATENT_SCOPE_DATA")}
    env.update(PYTHONPATH=str(project), HF_HUB_OFFLINE="1")
    command = [str(DG), "check", "defs", "--use-active-venv"]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=180)


def test_dg_check_defs_passes_then_names_a_broken_defs_module(project: Path) -> None:
    done = dg_check_defs(project)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "All definitions loaded successfully." in done.stdout
    # A module in defs/ that fails at import: the check fails and says which module and why.
    (project / "ls_pipeline" / "defs" / "broken_sensor.py").write_text("import dagster as dg\n\nsensor = dg.sensr\n")
    done = dg_check_defs(project)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "All definitions loaded successfully." not in out
    assert "Validation failed for code location latent_scope" in out
    assert "broken_sensor.py" in out and "has no attribute 'sensr'" in out, out[-3000:]
