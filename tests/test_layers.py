"""The import rules of docs/architecture.md, as import-linter contracts (pyproject.toml's [tool.importlinter])."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_every_import_contract_is_kept() -> None:
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_a_broken_rule_is_caught(tmp_path: Path) -> None:
    """The contracts bite: a copy of the packages where defs/ imports runs/ and the viewer imports stages/ fails."""
    skipped = shutil.ignore_patterns("__pycache__", "frontend", "static", "*.parquet")
    for package in ("ls_pipeline", "viewer"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=skipped)
    (tmp_path / "ls_pipeline" / "defs" / "planted.py").write_text("from ls_pipeline.runs import runner\n")
    (tmp_path / "viewer" / "planted.py").write_text("from ls_pipeline.stages import umap\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    assert "ls_pipeline.defs.planted -> ls_pipeline.runs.runner" in done.stdout
    assert "viewer.planted -> ls_pipeline.stages.umap" in done.stdout
