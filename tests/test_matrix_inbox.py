"""Bad-input matrix for inbox files: the sensor never raises, starts no run, moves each bad file to
_inbox/_rejected/ with a one-line NAME.error.txt naming the problem (and no absolute path), and leaves every
dataset untouched.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline.definitions import defs
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.defs.sensors import inbox_sensor
from ls_pipeline.sources.inbox import REJECTED
from tests.helpers import tree_digest


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "id,text\n1,a\n")
    return buffer.getvalue()


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty.csv": (b"", "empty.csv is empty"),
    "header.csv": (b"id,text\n", "header but no rows"),
    "latin1.csv": ("id,text\n1,café\n".encode("latin-1"), "latin1.csv is not UTF-8 text (byte 0xe9"),
    "utf16.csv": ("id,text\n1,hello\n".encode("utf-16"), "utf16.csv is not UTF-8 text"),
    "zip-as.csv": (_zip(), "zip-as.csv is not UTF-8 text"),
    "dupes.csv": (b"text,id,text\na,1,b\n", "duplicate column names: text"),
    "numbers.csv": (b"id,score\n1,2\n3,4\n", "no text column found among: id, score"),
    "blank.csv": (b"id,text\n1,\n2,  \n", "every value of text column 'text' is empty"),
    "bigcell.csv": (b"id,text\n1,ok\n2," + b"z" * 1_500_000 + b"\n", "has 1,500,000 characters, over the limit"),
    "broken-line.csv": (b"id,text\n1,a\n2,b,c,d\n3,e\n", "Expected 2 fields in line 3, saw 4"),
    "truncated.json": (b'[{"text": "a"}, {"text": ', "cannot read truncated.json as json"),
    "garbage.jsonl": (b'{"text": "a"}\nnot json at all\n', "cannot read garbage.jsonl as jsonl"),
    "garbage.parquet": (b"PAR1 this is not parquet", "cannot read garbage.parquet"),
    "garbage.xlsx": (b"not a spreadsheet", "garbage.xlsx is not a readable Excel workbook"),
    "zip.xlsx": (_zip(), "zip.xlsx is not a readable Excel workbook (KeyError)"),
    "numbers.parquet": (_parquet(pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})), "no text column found among: a, b"),
    "notes.docx": (b"PK\x03\x04 word", "unsupported file type '.docx'"),
    "no-suffix": (b"id,text\n1,a\n", "unsupported file type '(none)'"),
}


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as persistent:
        yield persistent


@pytest.fixture
def seeded(data_dir: Path, sample_frame: pd.DataFrame) -> Path:
    """A data directory that already holds one dataset, which no rejected file may touch."""
    from ls_pipeline import steps
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    steps.ingest(DataDir(data_dir), "kept", sample_frame.head(20), IngestParams(text_column="text"))
    return data_dir


def _drop(inbox: Path, name: str, content: bytes) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(content)
    settled = time.time() - 60  # older than the settle time: the sensor looks at it now
    os.utime(path, (settled, settled))
    return path


def _evaluate(instance: dg.DagsterInstance, root: Path, cursor: str | None = None) -> dg.SensorResult:
    resources = {"data_dir": DataDirResource(path=str(root))}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as context:
        return inbox_sensor(context)


def _outside_inbox(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(root).items() if not k.startswith("_inbox")}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_inbox_file_is_rejected_with_a_one_line_reason(
    instance: dg.DagsterInstance, seeded: Path, name: str
) -> None:
    content, expected = BAD_FILES[name]
    _drop(seeded / "_inbox", name, content)
    before = _outside_inbox(seeded)
    result = _evaluate(instance, seeded)
    assert result.run_requests == []
    rejected = seeded / "_inbox" / REJECTED
    assert (rejected / name).read_bytes() == content and not (seeded / "_inbox" / name).exists()
    note = (rejected / f"{name}.error.txt").read_text()
    assert note.endswith("\n") and len(note.splitlines()) == 1, note
    assert expected in note and "fix the file and drop it in _inbox/ again" in note
    assert str(seeded) not in note and "Traceback" not in note
    assert _outside_inbox(seeded) == before


def test_every_bad_kind_at_once_and_odd_entries_never_raise(
    instance: dg.DagsterInstance, seeded: Path, sample_frame: pd.DataFrame
) -> None:
    inbox = seeded / "_inbox"
    for name, (content, _) in BAD_FILES.items():
        _drop(inbox, name, content)
    (inbox / "folder.csv").mkdir()  # a folder with a data file's name
    (inbox / "dangling.csv").symlink_to(inbox / "nowhere.csv")
    _drop(inbox, ".hidden.csv", b"id,text\n1,a\n")  # hidden: an editor's or a copier's temp file, left alone
    good = _drop(inbox, "good news.csv", sample_frame.head(20).to_csv(index=False).encode())
    before = _outside_inbox(seeded)
    result = _evaluate(instance, seeded)
    assert [r.partition_key for r in result.run_requests] == ["good-news"]
    assert good.exists() and (inbox / ".hidden.csv").exists() and (inbox / "folder.csv").is_dir()
    rejected = sorted(p.name for p in (inbox / REJECTED).iterdir() if not p.name.endswith(".error.txt"))
    assert rejected == sorted(BAD_FILES)
    assert _outside_inbox(seeded) == before
    # the same bad name dropped again (fixed or not) is looked at again; a second rejection keeps the first
    _drop(inbox, "empty.csv", b"")
    again = _evaluate(instance, seeded, cursor=result.cursor)
    assert again.run_requests == []
    assert len([p for p in (inbox / REJECTED).glob("empty*.csv")]) == 2
    _drop(inbox, "empty.csv", sample_frame.head(20).to_csv(index=False).encode())
    fixed = _evaluate(instance, seeded, cursor=again.cursor)
    assert [r.partition_key for r in fixed.run_requests] == ["empty"]
