"""Every supported file format reads to the same rows, and ingest from a file records its source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ls_pipeline import cli
from ls_pipeline.sources.files import read_table
from tests.helpers import run_cli

WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    "csv": lambda f, p: f.to_csv(p, index=False),
    "tsv": lambda f, p: f.to_csv(p, index=False, sep="\t"),
    "parquet": lambda f, p: f.to_parquet(p, index=False),
    "json": lambda f, p: f.to_json(p, orient="records"),
    "jsonl": lambda f, p: f.to_json(p, orient="records", lines=True),
    "xlsx": lambda f, p: f.to_excel(p, index=False),
}


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_each_format_reads_the_same_rows(suffix: str, sample_frame: pd.DataFrame, tmp_path: Path) -> None:
    frame = sample_frame.head(25)[["package", "section", "text"]]
    path = tmp_path / f"rows.{suffix}"
    WRITERS[suffix](frame, path)
    read = read_table(path)
    assert read[["package", "section", "text"]].astype(str).values.tolist() == frame.astype(str).values.tolist()


def test_a_json_file_holding_json_lines_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text('{"text": "one"}\n{"text": "two"}\n')
    assert read_table(path)["text"].tolist() == ["one", "two"]


def test_ls_ingest_without_a_path_reads_the_dataset_folder_input_csv(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / "survey").mkdir()
    (data_dir / "survey" / "input.csv").write_text("id,answer\n1,charts lie\n2,maps are art\n")
    code, out, _ = run_cli(cli.ls_ingest, ["survey"], capsys)
    assert code == 0 and "2 rows, text column 'answer'" in out
    meta = pd.read_json(data_dir / "survey" / "meta.json", typ="series")
    assert meta["source"] == "input.csv" and meta["length"] == 2


def test_reingesting_identical_rows_rewrites_nothing(data_dir: Path, sample_frame: pd.DataFrame) -> None:
    import ls_pipeline as ls

    first = ls.ingest("same", sample_frame.head(10))
    stamp = (data_dir / "same" / "input.parquet").stat().st_mtime_ns
    again = ls.ingest("same", sample_frame.head(10))
    assert again["ingested_at"] == first["ingested_at"]
    assert (data_dir / "same" / "input.parquet").stat().st_mtime_ns == stamp
    changed = ls.ingest("same", sample_frame.head(11))
    assert changed["length"] == 11 and changed["fingerprint"] != first["fingerprint"]
