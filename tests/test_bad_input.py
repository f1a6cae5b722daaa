"""Every user mistake the pipeline issue names: one line, exit 2, no traceback, nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ls_pipeline import cli
from tests.helpers import run_cli, tree_digest


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> Path:
    """Built once: dataset 'few' (30 rows, embedded), and a folder of bad input files."""
    from ls_pipeline import steps
    from ls_pipeline.stages.embed import EmbedParams
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    base = tmp_path_factory.mktemp("template")
    data = DataDir(base / "data")
    steps.ingest(data, "few", sample_frame.head(30), IngestParams(text_column="text"))
    steps.embed(data.dataset("few"), EmbedParams())
    files = base / "files"
    files.mkdir()
    for name, text in BAD_FILES.items():
        (files / name).write_text(text)
    return base


BAD_FILES = {
    "empty.csv": "",
    "header.csv": "package,text\n",
    "notes.txt": "hello",
    "ok.csv": "package,text\na,first text\nb,second text\n",
    "nulls.csv": "package,text\na,\nb,\n",
    "dupes.csv": "text,text\na,b\n",
    "broken.json": '[{"text": "a"}, {"text": ',
    "bad.yaml": "umap: {neighbours: 5}\n",
    "typed.yaml": "umap: {neighbors: 'many'}\n",
}


@pytest.fixture
def small(template: Path, data_dir: Path) -> Path:
    """A fresh copy of the template's data directory as LATENT_SCOPE_DATA; returns the bad files' folder."""
    shutil.copytree(template / "data", data_dir, dirs_exist_ok=True)
    return template / "files"


CASES: list[tuple[str, Callable, list[str], str]] = [
    ("missing file", cli._ingest_csv, ["new", "{files}/nope.csv"], "no such file"),
    ("empty file", cli._ingest_csv, ["new", "{files}/empty.csv"], "is empty"),
    ("header only", cli._ingest_csv, ["new", "{files}/header.csv"], "header but no rows"),
    ("unsupported type", cli._ingest, ["new", "{files}/notes.txt"], "unsupported file type '.txt'"),
    (
        "unknown text column",
        cli._ingest_csv,
        ["new", "{files}/ok.csv", "--text_column", "body"],
        "unknown text column 'body'",
    ),
    ("all texts empty", cli._ingest_csv, ["new", "{files}/nulls.csv", "--text_column", "text"], "every value"),
    ("duplicate columns", cli._ingest_csv, ["new", "{files}/dupes.csv"], "duplicate column names: text"),
    ("truncated json", cli._ingest, ["new", "{files}/broken.json"], "cannot read broken.json"),
    ("dataset name with ..", cli._ingest_csv, ["../up", "{files}/ok.csv"], "invalid dataset name"),
    ("unknown dataset", cli._embed, ["nope", "text"], "unknown dataset 'nope'"),
    ("unknown embed column", cli._embed, ["few", "body"], "unknown text column 'body'"),
    (
        "unknown hub model offline",
        cli._embed,
        ["few", "text", "no-such-org/no-such-model"],
        "cannot load embedding model 'no-such-org/no-such-model'",
    ),
    ("malformed model id", cli._embed, ["few", "text", "not a model"], "unknown embedding model 'not a model'"),
    ("missing model folder", cli._embed, ["few", "text", "./models/none"], "embedding model folder not found"),
    ("zero batch size", cli._embed, ["few", "text", "--batch_size", "0"], "must be a positive integer"),
    ("unknown upstream id", cli._umap, ["few", "embedding-009"], "unknown embedding id 'embedding-009'"),
    ("upstream id with path", cli._umap, ["few", "../../etc/passwd"], "unknown embedding id"),
    ("negative neighbors", cli._umap, ["few", "embedding-001", "-5"], "neighbors must be an integer of at least 2"),
    ("min_dist above 1", cli._umap, ["few", "embedding-001", "10", "3"], "min_dist must be a number from 0 to 1"),
    ("fewer rows than neighbors", cli._umap, ["few", "embedding-001", "40"], "30 distinct of 30 rows"),
    ("non-numeric neighbors", cli._umap, ["few", "embedding-001", "many"], "invalid int value: 'many'"),
    ("unknown umap id", cli._cluster, ["few", "umap-001"], "unknown umap id 'umap-001'"),
    ("unknown cluster id", cli._label, ["few", "text", "cluster-003"], "unknown cluster id 'cluster-003'"),
    ("unknown labels id", cli._scope, ["few", "cluster-001-labels-001", "x"], "unknown labels id"),
    ("unknown recipe", cli._run, ["few", "--recipe", "nope"], "unknown recipe 'nope'"),
    ("recipe with unknown key", cli._run, ["few", "--recipe", "{files}/bad.yaml"], "unknown keys: neighbours"),
    ("recipe with wrong type", cli._run, ["few", "--recipe", "{files}/typed.yaml"], "neighbors must be int"),
]


@pytest.mark.parametrize(("name", "main", "args", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    small: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    main: Callable,
    args: list[str],
    message: str,
) -> None:
    before = tree_digest(data_dir)
    code, out, err = run_cli(main, [a.format(files=small) for a in args], capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err and out == ""
    assert tree_digest(data_dir) == before


def test_null_and_blank_texts_are_kept_as_empty_strings_and_counted(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mixed.csv"
    source.write_text("id,text\n1,a real text\n2,\n3,   \n4,another text\n")
    code, _, err = run_cli(cli._ingest_csv, ["mixed", str(source)], capsys)
    assert code == 0 and "2 of 4 rows have an empty 'text'" in err
    rows = pd.read_parquet(data_dir / "mixed/input.parquet")
    assert rows["text"].tolist() == ["a real text", "", "   ", "another text"]


def test_without_a_data_directory_the_cli_says_how_to_choose_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LATENT_SCOPE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(cli._embed, ["few", "text"], capsys)
    assert code == 2 and "run `ls-init PATH` or set LATENT_SCOPE_DATA" in err
    assert run_cli(cli._init, [str(tmp_path / "chosen")], capsys)[0] == 0
    assert "LATENT_SCOPE_DATA=" in (tmp_path / ".env").read_text()
    code, _, err = run_cli(cli._embed, ["few", "text"], capsys)
    assert code == 2 and "unknown dataset 'few'" in err


def test_the_console_script_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "LATENT_SCOPE_DATA": str(tmp_path)}
    script = Path(sys.executable).with_name("ls-umap")
    done = subprocess.run([str(script), "ghost", "embedding-001"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    expected = "ls-umap: error: unknown dataset 'ghost' (known: none yet); ingest it first with ls-ingest"
    assert done.stderr.strip() == expected
