"""User mistakes whose answer is not simply an error (the bad-input matrix is in test_matrix_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ls_pipeline import cli
from tests.helpers import run_cli


def test_null_and_blank_texts_are_kept_as_empty_strings_and_counted(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mixed.csv"
    source.write_text("id,text\n1,a real text\n2,\n3,   \n4,another text\n")
    code, _, err = run_cli(cli.ls_ingest_csv, ["mixed", str(source)], capsys)
    assert code == 0 and "2 of 4 rows have an empty 'text'" in err
    rows = pd.read_parquet(data_dir / "mixed/input.parquet")
    assert rows["text"].tolist() == ["a real text", "", "   ", "another text"]


def test_without_a_data_directory_the_cli_says_how_to_choose_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LATENT_SCOPE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(cli.ls_embed, ["few", "text"], capsys)
    assert code == 2 and "run `ls-init PATH` or set LATENT_SCOPE_DATA" in err
    assert run_cli(cli.ls_init, [str(tmp_path / "chosen")], capsys)[0] == 0
    assert "LATENT_SCOPE_DATA=" in (tmp_path / ".env").read_text()
    code, _, err = run_cli(cli.ls_embed, ["few", "text"], capsys)
    assert code == 2 and "unknown dataset 'few'" in err


def test_the_console_script_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "LATENT_SCOPE_DATA": str(tmp_path)}
    script = Path(sys.executable).with_name("ls-umap")
    done = subprocess.run([str(script), "ghost", "embedding-001"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    expected = "ls-umap: error: unknown dataset 'ghost' (known: none yet); ingest it first with ls-ingest"
    assert done.stderr.strip() == expected


def test_the_environment_wins_over_the_dotenv_that_ls_init_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ls_pipeline.store import resolve_data_dir

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"LATENT_SCOPE_DATA={tmp_path / 'from-file'}\n")
    monkeypatch.delenv("LATENT_SCOPE_DATA", raising=False)
    assert resolve_data_dir() == tmp_path / "from-file"
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(tmp_path / "exported"))
    assert resolve_data_dir() == tmp_path / "exported"
