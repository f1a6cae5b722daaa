"""Bad-input matrix for the CLI and the Python API: one line naming the problem, exit 2 (or UserError), no
traceback, no data-directory path in the message, and the data directory byte-for-byte unchanged.

The cases: missing, empty and header-only files, unknown ids and columns, out-of-range parameters,
encodings, a 50 MB cell, a million-line CSV with one broken line, duplicate and numeric columns, identical texts,
ids with path and unicode tricks, and API calls with wrong types.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

import ls_pipeline as ls
from ls_pipeline import cli
from ls_pipeline.cli.runs import is_file_argument
from tests.helpers import run_cli, tree_digest

BIG_CELL = 50 * 1024 * 1024
# A million lines: cheap to write and parse, so no reason to cut it.
LONG_CSV_LINES = 1_000_000
BROKEN_AT = 612_345


BASIC_FILES = {  # the first bad-input cases (missing, empty, header-only ...)
    "empty.csv": "",
    "header.csv": "package,text\n",
    "notes.txt": "hello",
    "nulls.csv": "package,text\na,\nb,\n",
    "dupes.csv": "text,text\na,b\n",
    "broken.json": '[{"text": "a"}, {"text": ',
    "bad.yaml": "umap: {neighbours: 5}\n",
    "typed.yaml": "umap: {neighbors: 'many'}\n",
}


def _write_files(folder: Path) -> None:
    folder.mkdir()
    for name, text in BASIC_FILES.items():
        (folder / name).write_text(text)
    (folder / "ok.csv").write_text("id,text\n1,first text\n2,second text\n")
    (folder / "latin1.csv").write_bytes("id,text\n1,café crème\n2,naïve\n".encode("latin-1"))
    (folder / "mixed.csv").write_bytes("id,text\n1,café ok\n".encode() + "2,café again\n".encode("latin-1"))
    (folder / "utf16.csv").write_bytes("id,text\n1,hello\n".encode("utf-16"))
    (folder / "dupes3.csv").write_text("id,text,id\n1,a text,2\n")
    (folder / "numeric.csv").write_text("id,text\n1,123\n2,456\n3,789\n")
    with zipfile.ZipFile(folder / "zip.xlsx", "w") as archive:  # a zip that is no workbook
        archive.writestr("data.csv", "id,text\n1,a\n")
    (folder / "truncated.xlsx").write_bytes(b"PK\x03\x04" + bytes(40))
    with open(folder / "bigcell.csv", "w") as handle:
        handle.write("id,text\n1,short\n2,")
        handle.write("x" * BIG_CELL)
        handle.write("\n")
    _write_vector_files(folder)
    for name, bad_line in (("long_fields.csv", "{i},a,b,c\n"), ("long_quote.csv", '{i},"never closed\n')):
        with open(folder / name, "w") as handle:
            handle.write("id,text\n")
            handle.writelines(
                (bad_line if i == BROKEN_AT else "{i},row number {i}\n").format(i=i) for i in range(LONG_CSV_LINES)
            )


def _write_vector_files(folder: Path) -> None:
    """Vector files for dataset 'few' (30 rows), each wrong in one way."""
    good = np.random.default_rng(0).normal(size=(30, 8))
    np.save(folder / "nan.npy", np.where(np.arange(30)[:, None] == 3, np.nan, good))
    np.save(folder / "zero.npy", np.where(np.arange(30)[:, None] == 5, 0.0, good))
    np.save(folder / "short.npy", good[:29])
    np.save(folder / "flat.npy", good[:, 0])
    np.save(folder / "objects.npy", np.array([{"a": 1}] * 30, dtype=object), allow_pickle=True)
    pd.DataFrame({"v": [list(r) for r in good[:29]] + [[1.0, 2.0]]}).to_parquet(folder / "ragged.parquet")
    pd.DataFrame({"v": [str(list(r)) for r in good]}).to_parquet(folder / "nolist.parquet")
    with h5py.File(folder / "two.h5", "w") as handle:
        handle["a"], handle["b"] = good, good


IMPORT_CASES: list[tuple[str, Callable, list[str], str]] = [
    ("import NaN", cli.ls_embed_importer, ["few", "{files}/nan.npy"], "the vector of row 3 holds NaN or infinity"),
    ("import zero vector", cli.ls_embed_importer, ["few", "{files}/zero.npy"], "the vector of row 5 is all zeros"),
    ("import row count", cli.ls_embed_importer, ["few", "{files}/short.npy"], "29 vectors for a dataset of 30 rows"),
    ("import 1D", cli.ls_embed_importer, ["few", "{files}/flat.npy"], "vectors must form a 2D array"),
    ("import pickle", cli.ls_embed_importer, ["few", "{files}/objects.npy"], "cannot read objects.npy as npy vectors"),
    ("import ragged", cli.ls_embed_importer, ["few", "{files}/ragged.parquet"], "vectors of 2 different lengths"),
    ("import no list column", cli.ls_embed_importer, ["few", "{files}/nolist.parquet"], "has list columns (none)"),
    ("import two h5 matrices", cli.ls_embed_importer, ["few", "{files}/two.h5"], "datasets a, b: name one with"),
    ("import h5 unknown name", cli.ls_embed_importer, ["few", "{files}/two.h5", "--column", "c"], "name one with"),
    ("import unsupported", cli.ls_embed_importer, ["few", "{files}/notes.txt"], "unsupported vector file notes.txt"),
    ("import missing file", cli.ls_embed_importer, ["few", "{files}/none.npy"], "no such file"),
    ("import nothing", cli.ls_embed_importer, ["few"], "needs vectors (an array or a file)"),
    ("import unknown column", cli.ls_embed_importer, ["few", "--column", "nope"], "has no column 'nope'"),
    ("import text column", cli.ls_embed_importer, ["few", "--column", "text"], "does not hold vectors"),
    ("import unknown dataset", cli.ls_embed_importer, ["nope", "{files}/short.npy"], "unknown dataset 'nope'"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> Path:
    """Built once: 'few' (30 rows, embedded), 'same' (40 identical texts, embedded) and the bad files."""
    from ls_pipeline import steps
    from ls_pipeline.stages.embed import EmbedParams
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    base = tmp_path_factory.mktemp("matrix")
    data = DataDir(base / "data")
    steps.ingest(data, "few", sample_frame.head(30), IngestParams(text_column="text"))
    steps.embed(data.dataset("few"), EmbedParams())
    same = pd.DataFrame({"id": range(40), "text": ["the very same sentence"] * 40})
    steps.ingest(data, "same", same, IngestParams(text_column="text"))
    steps.embed(data.dataset("same"), EmbedParams())
    _write_files(base / "files")
    return base


@pytest.fixture
def small(template: Path, data_dir: Path) -> Path:
    shutil.copytree(template / "data", data_dir, dirs_exist_ok=True)
    return template / "files"


BAD_NAMES = {
    "dotdot": "..",
    "parent path": "../up",
    "slash": "a/b",
    "nul": "a\x00b",
    "trailing newline": "name\n",
    "fullwidth solidus": "a\uff0fb",
    "rtl override": "abc\u202egnp.csv",
    "combining dots": "a\u0307\u0307",
    "hidden": ".hidden",
    "empty": "",
    "too long": "a" * 101,
}
BAD_IDS = {
    "id parent path": "../embeddings/embedding-001",
    "id trailing newline": "embedding-001\n",
    "id nul": "embedding-001\x00",
    "id fullwidth solidus": "embeddings\uff0fembedding-001",
    "id absolute": "/etc/passwd",
}

BASIC_CASES: list[tuple[str, Callable, list[str], str]] = [
    ("missing file", cli.ls_ingest_csv, ["new", "{files}/nope.csv"], "no such file"),
    ("empty file", cli.ls_ingest_csv, ["new", "{files}/empty.csv"], "is empty"),
    ("header only", cli.ls_ingest_csv, ["new", "{files}/header.csv"], "header but no rows"),
    ("unsupported type", cli.ls_ingest, ["new", "{files}/notes.txt"], "unsupported file type '.txt'"),
    (
        "unknown text column",
        cli.ls_ingest_csv,
        ["new", "{files}/ok.csv", "--text_column", "body"],
        "unknown text column 'body'",
    ),
    ("all texts empty", cli.ls_ingest_csv, ["new", "{files}/nulls.csv", "--text_column", "text"], "every value"),
    ("duplicate columns", cli.ls_ingest_csv, ["new", "{files}/dupes.csv"], "duplicate column names: text"),
    ("truncated json", cli.ls_ingest, ["new", "{files}/broken.json"], "cannot read broken.json"),
    ("dataset name with ..", cli.ls_ingest_csv, ["../up", "{files}/ok.csv"], "invalid dataset name"),
    ("unknown dataset", cli.ls_embed, ["nope", "text"], "unknown dataset 'nope'"),
    ("unknown embed column", cli.ls_embed, ["few", "body"], "unknown text column 'body'"),
    (
        "unknown hub model offline",
        cli.ls_embed,
        ["few", "text", "no-such-org/no-such-model"],
        "cannot load embedding model 'no-such-org/no-such-model'",
    ),
    ("malformed model id", cli.ls_embed, ["few", "text", "not a model"], "unknown embedding model 'not a model'"),
    ("missing model folder", cli.ls_embed, ["few", "text", "./models/none"], "embedding model folder not found"),
    ("zero batch size", cli.ls_embed, ["few", "text", "--batch_size", "0"], "must be a positive integer"),
    ("unknown upstream id", cli.ls_umap, ["few", "embedding-009"], "unknown embedding id 'embedding-009'"),
    ("upstream id with path", cli.ls_umap, ["few", "../../etc/passwd"], "unknown embedding id"),
    ("negative neighbors", cli.ls_umap, ["few", "embedding-001", "-5"], "neighbors must be an integer of at least 2"),
    ("min_dist above 1", cli.ls_umap, ["few", "embedding-001", "10", "3"], "min_dist must be a number from 0 to 1"),
    ("fewer rows than neighbors", cli.ls_umap, ["few", "embedding-001", "40"], "30 distinct of 30 rows"),
    ("non-numeric neighbors", cli.ls_umap, ["few", "embedding-001", "many"], "invalid int value: 'many'"),
    ("unknown umap id", cli.ls_cluster, ["few", "umap-001"], "unknown umap id 'umap-001'"),
    ("unknown cluster id", cli.ls_label, ["few", "text", "cluster-003"], "unknown cluster id 'cluster-003'"),
    ("unknown labels id", cli.ls_scope, ["few", "cluster-001-labels-001", "x"], "unknown labels id"),
    ("unknown recipe", cli.ls_run, ["few", "--recipe", "nope"], "unknown recipe 'nope'"),
    ("recipe with unknown key", cli.ls_run, ["few", "--recipe", "{files}/bad.yaml"], "unknown keys: neighbours"),
    ("recipe with wrong type", cli.ls_run, ["few", "--recipe", "{files}/typed.yaml"], "neighbors must be int"),
]

CLI_CASES: list[tuple[str, Callable, list[str], str]] = [
    *BASIC_CASES,
    ("latin-1 csv", cli.ls_ingest_csv, ["new", "{files}/latin1.csv"], "latin1.csv is not UTF-8 text (byte 0xe9"),
    ("mixed encodings", cli.ls_ingest_csv, ["new", "{files}/mixed.csv"], "mixed.csv is not UTF-8 text"),
    ("utf-16 csv", cli.ls_ingest_csv, ["new", "{files}/utf16.csv"], "utf16.csv is not UTF-8 text (byte 0xff"),
    ("50 MB cell", cli.ls_ingest_csv, ["new", "{files}/bigcell.csv"], "row 1 of text column 'text' has 52,428,800"),
    (
        "1M lines, one with extra fields",
        cli.ls_ingest_csv,
        ["new", "{files}/long_fields.csv"],
        f"Expected 2 fields in line {BROKEN_AT + 2}, saw 4",
    ),
    (
        "1M lines, one unclosed quote",
        cli.ls_ingest_csv,
        ["new", "{files}/long_quote.csv"],
        f"EOF inside string starting at row {BROKEN_AT + 1}",
    ),
    ("zip renamed .xlsx", cli.ls_ingest, ["new", "{files}/zip.xlsx"], "zip.xlsx is not a readable Excel workbook"),
    ("truncated .xlsx", cli.ls_ingest, ["new", "{files}/truncated.xlsx"], "not a readable Excel workbook (BadZipFile)"),
    ("duplicate names, 3 columns", cli.ls_ingest_csv, ["new", "{files}/dupes3.csv"], "duplicate column names: id"),
    ("numeric-only texts, guessed", cli.ls_ingest_csv, ["new", "{files}/numeric.csv"], "no text column found"),
    (
        "numeric-only texts, named",
        cli.ls_ingest_csv,
        ["new", "{files}/numeric.csv", "--text_column", "text"],
        "column 'text' holds int64 values, not text",
    ),
    ("all-identical texts", cli.ls_umap, ["same", "embedding-001", "5"], "1 distinct of 40 rows"),
    *[
        (f"dataset {what}", cli.ls_ingest_csv, [name, "{files}/ok.csv"], "invalid dataset name")
        for what, name in BAD_NAMES.items()
    ],
    ("embed dataset with nul", cli.ls_embed, ["few\x00", "text"], "invalid dataset name"),
    *[(what, cli.ls_umap, ["few", bad], "unknown embedding id") for what, bad in BAD_IDS.items()],
    ("labels id with slash", cli.ls_scope, ["few", "clusters/cluster-001-labels-001", "x"], "unknown labels id"),
    ("recipe name with slash", cli.ls_run, ["few", "--no-dagster", "--recipe", "a/b"], "invalid recipe name"),
    ("recipe name with newline", cli.ls_run, ["few", "--no-dagster", "--recipe", "default\n"], "invalid recipe name"),
    ("dataset name with a dot", cli.ls_run, ["news.v2", "--no-dagster"], "unknown dataset 'news.v2'"),
    *IMPORT_CASES,
]


@pytest.mark.parametrize(
    ("argument", "is_file"),
    [("news.v2", False), ("few", False), ("news.csv", True), ("export.zip", True), ("data/news.v2", True)],
)
def test_run_tells_a_dotted_dataset_name_from_a_file(argument: str, is_file: bool) -> None:
    assert is_file_argument(argument) is is_file


def _assert_one_line(message: str, expected: str, root: Path) -> None:
    lines = message.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], message
    assert "Traceback" not in message
    assert str(root) not in message and str(root.resolve()) not in message


@pytest.mark.parametrize(("name", "main", "args", "message"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(
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
    assert out == ""
    _assert_one_line(err, message, data_dir)
    assert tree_digest(data_dir) == before
    # no stray folder from a bad name ("_" names are the data directory's own: _cache, _inbox, ...)
    assert sorted(p.name for p in data_dir.iterdir() if not p.name.startswith("_")) == ["few", "same"]


def _frame(**columns: Any) -> pd.DataFrame:
    return pd.DataFrame(columns)


API_CASES: list[tuple[str, Callable[[], Any], str]] = [
    ("ingest an int", lambda: ls.ingest("new", 42), "ingest takes a pandas DataFrame or a file path, got int 42"),
    ("ingest None", lambda: ls.ingest("new", None), "got NoneType None"),
    ("ingest a list", lambda: ls.ingest("new", [{"text": "a"}]), "got list"),
    ("int dataset name", lambda: ls.ingest(123, _frame(text=["a b"])), "invalid dataset name 123"),
    ("name with newline", lambda: ls.ingest("abc\n", _frame(text=["a b"])), "invalid dataset name 'abc\\n'"),
    ("text_column not a str", lambda: ls.embed("few", text_column=5), "text_column must be a string, got int 5"),
    ("prefix not a str", lambda: ls.embed("few", prefix=5), "prefix must be a string, got int 5"),
    ("batch_size a str", lambda: ls.embed("few", batch_size="64"), "batch_size must be a positive integer"),
    ("neighbors a str", lambda: ls.umap("few", "embedding-001", neighbors="5"), "neighbors must be an integer"),
    ("min_dist a str", lambda: ls.umap("few", "embedding-001", min_dist="0.1"), "min_dist must be a number"),
    ("samples a float", lambda: ls.cluster("few", "umap-001", samples=2.5), "min_cluster_size (samples) must be"),
    ("umap id a list", lambda: ls.cluster("few", ["umap-001"]), "unknown umap id ['umap-001']"),
    ("recipe an int", lambda: ls.run("few", recipe=5), "recipe must be a recipe name or a YAML file path"),
    ("recipe None", lambda: ls.run("few", recipe=None), "recipe must be a recipe name"),
    ("init None", lambda: ls.init(None), "init needs a folder path, got NoneType None"),
    ("init unknown key", lambda: ls.init("/tmp", aws_key="x"), "unknown key option(s) aws_key"),
    ("frame with duplicate columns", lambda: ls.ingest("new", pd.DataFrame([[1, "a"]], columns=["a", "a"])), "dupl"),
    ("frame numeric only", lambda: ls.ingest("new", _frame(text=[1, 2, 3])), "no text column found among: text"),
    ("frame with no rows", lambda: ls.ingest("new", _frame(text=[])), "the data has no rows"),
    (
        "frame with a 2M-char text",
        lambda: ls.ingest("new", _frame(text=["short", "y" * 2_000_000])),
        "row 1 of text column 'text' has 2,000,000 characters",
    ),
    ("label an unknown cluster", lambda: ls.label("few", None, "cluster-001"), "unknown cluster id 'cluster-001'"),
]


@pytest.mark.parametrize(("name", "call", "message"), API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input(small: Path, data_dir: Path, name: str, call: Callable[[], Any], message: str) -> None:
    before = tree_digest(data_dir)
    with pytest.raises(ls.UserError) as caught:
        call()
    _assert_one_line(str(caught.value), message, data_dir)
    assert tree_digest(data_dir) == before


def test_hdbscan_finding_no_cluster_is_one_line_not_a_crash(
    small: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # min_cluster_size = every row: HDBSCAN (no single cluster allowed) calls every point noise.
    assert run_cli(cli.ls_umap, ["few", "embedding-001", "5"], capsys)[0] == 0
    code, out, err = run_cli(cli.ls_cluster, ["few", "umap-001", "30", "3"], capsys)
    assert code == 0 and out.strip() == "cluster-001", err
    sidecar = ls.data_dir().dataset("few").sidecar("cluster", "cluster-001")
    assert sidecar["n_clusters"] == 0 and sidecar["noise_share"] == 1.0
    # labeling and saving a scope of an all-noise clustering still work: everything is "Unclustered"
    assert run_cli(cli.ls_label, ["few", "text", "cluster-001"], capsys)[:2] == (0, "cluster-001-labels-001\n")
    assert run_cli(cli.ls_scope, ["few", "cluster-001-labels-001", "all noise"], capsys)[:2] == (0, "scopes-001\n")
    recipe = tmp_path / "nothing.yaml"
    recipe.write_text("umap: {neighbors: 5}\ncluster: {min_cluster_size: 30, min_samples: 3}\n")
    before = tree_digest(data_dir)
    code, out, err = run_cli(cli.ls_run, ["few", "--no-dagster", "--recipe", str(recipe)], capsys)
    assert code == 2
    _assert_one_line(err.strip().splitlines()[-1], "0 clusters is below min_clusters 2", data_dir)
    assert "rows leave room for few clusters of min_cluster_size 30" in err  # the way out for a small dataset
    assert err.strip().endswith("lower min_cluster_size (to about 2) or loosen the recipe's checks")
    assert "Traceback" not in err
    assert tree_digest(data_dir) == before  # every stage was reused: nothing new written for a failed run
