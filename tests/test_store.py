"""The data-directory contract: sequential ids, atomic publishing, reuse by fingerprint, locking."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.sources.registry import find_source
from ls_pipeline.store import DataDir, fingerprint, tags
from ls_pipeline.store.artifacts import Staging, produce
from ls_pipeline.store.atomic import atomic_path, write_json
from ls_pipeline.store.datadir import check_name


def _dataset(root: Path, name: str = "ds"):
    folder = root / name
    folder.mkdir(parents=True)
    write_json(folder / "meta.json", {"id": name, "length": 3, "fingerprint": "f0"})
    return DataDir(root).dataset(name)


def _writer(payload: str):
    def build(staging: Staging) -> dict[str, object]:
        staging.path(".txt").write_text(payload)
        return {"payload": payload}

    return build


def test_ids_are_sequential_and_reuse_by_fingerprint(tmp_path: Path) -> None:
    ds = _dataset(tmp_path)
    first = produce(ds, "umap", "fp-a", _writer("a"))
    second = produce(ds, "umap", "fp-b", _writer("b"))
    again = produce(ds, "umap", "fp-a", lambda staging: pytest.fail("must not recompute"))
    assert (first.id, second.id) == ("umap-001", "umap-002")
    assert again.reused and again.id == "umap-001" and not first.reused
    assert ds.file("umap", "umap-002", ".txt").read_text() == "b"
    sidecar = json.loads(ds.file("umap", "umap-001", ".json").read_text())
    assert sidecar["fingerprint"] == "fp-a" and sidecar["payload"] == "a" and "python" in sidecar["versions"]
    assert ds.ids("umap") == ["umap-001", "umap-002"]


def test_a_failed_build_leaves_nothing_visible(tmp_path: Path) -> None:
    ds = _dataset(tmp_path)

    def broken(staging: Staging) -> dict[str, object]:
        staging.path(".txt").write_text("half")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        produce(ds, "umap", "fp-x", broken)
    assert ds.ids("umap") == []
    assert not [p for p in ds.folder("umap").iterdir() if not p.name.startswith(".locks")]


def test_next_id_skips_an_orphan_file_left_by_a_crash(tmp_path: Path) -> None:
    ds = _dataset(tmp_path)
    ds.folder("cluster").mkdir()
    (ds.folder("cluster") / "cluster-004.parquet").write_bytes(b"orphan")
    assert produce(ds, "cluster", "fp", _writer("x")).id == "cluster-005"
    assert produce(ds, "labels", "fp-l", _writer("y"), parent="cluster-005").id == "cluster-005-labels-001"
    assert ds.ids("cluster") == ["cluster-005"] and ds.all_ids("labels") == ["cluster-005-labels-001"]


def _produce_in_child(root: str, fp: str, queue: multiprocessing.Queue) -> None:
    ds = DataDir(root).dataset("ds")
    queue.put(produce(ds, "scope", fp, _writer(fp)).id)


def test_concurrent_writers_get_unique_sequential_ids(tmp_path: Path) -> None:
    _dataset(tmp_path)
    queue: multiprocessing.Queue = multiprocessing.Queue()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_produce_in_child, args=(str(tmp_path), f"fp{i}", queue)) for i in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    ids = sorted(queue.get(timeout=5) for _ in workers)
    assert ids == [f"scopes-{i:03d}" for i in range(1, 7)]


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_path(target) as staged:
        staged.write_text("new and half")
        raise ValueError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_fingerprint_depends_on_params_inputs_and_code_version() -> None:
    base = fingerprint("umap", "1", {"neighbors": 25}, {"embedding-001": "abc"})
    assert base == fingerprint("umap", "1", {"neighbors": 25}, {"embedding-001": "abc"})
    assert base != fingerprint("umap", "2", {"neighbors": 25}, {"embedding-001": "abc"})
    assert base != fingerprint("umap", "1", {"neighbors": 15}, {"embedding-001": "abc"})
    assert base != fingerprint("umap", "1", {"neighbors": 25}, {"embedding-001": "abd"})


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 101, "a\x00b", "_inbox", "ok..no"])
def test_names_that_could_escape_or_collide_are_refused(name: str) -> None:
    with pytest.raises(UserError):
        check_name(name)


def test_unknown_dataset_and_artifact_ids_name_what_exists(tmp_path: Path) -> None:
    ds = _dataset(tmp_path)
    produce(ds, "umap", "fp", _writer("a"))
    with pytest.raises(NotFound, match="unknown dataset 'nope'.*known: ds"):
        DataDir(tmp_path).dataset("nope")
    with pytest.raises(NotFound, match="unknown umap id 'umap-009'.*known: umap-001"):
        ds.sidecar("umap", "umap-009")
    with pytest.raises(NotFound):
        ds.sidecar("umap", "../../meta")


def test_one_inbox_lister_leaves_hidden_and_unsettled_files(tmp_path: Path) -> None:
    """What the sensor and `find_source` both see: files only, no dot-files (an upload still arriving), and with
    a settle time, nothing modified more recently than that (a copy still under way)."""
    data = DataDir(tmp_path)
    data.inbox.mkdir()
    (data.inbox / "b.csv").write_text("text\nb\n")
    (data.inbox / "a.csv").write_text("text\na\n")
    (data.inbox / ".a.csv.partial").write_text("text\n")
    (data.inbox / "sub").mkdir()
    old = time.time() - 60
    os.utime(data.inbox / "a.csv", (old, old))
    assert [p.name for p in data.inbox_files()] == ["a.csv", "b.csv"]
    assert [p.name for p in data.inbox_files(settled_for_s=30)] == ["a.csv"]
    assert find_source(data, "a").path.name == "a.csv"


def test_one_indices_reader_names_a_damaged_line_before_an_edit(tmp_path: Path) -> None:
    """The viewer and tag edits read `.indices` files alike: blank lines pass, a stray line is an error that names
    the file and line, and an edit of that tag changes nothing."""
    ds = DataDir(tmp_path).dataset("d", must_exist=False)
    ds.tag_path("good").parent.mkdir(parents=True)
    ds.tag_path("good").write_text("3\n1\n\n3\n")
    assert tags.read(ds, "good") == [1, 3]
    ds.tag_path("bad").write_text("1\nrow 2\n3\n")
    with pytest.raises(UserError, match=r"tag file bad.indices line 2 is not an ls_index: 'row 2'"):
        tags.read(ds, "bad")
    with pytest.raises(UserError, match="line 2"):
        tags.change(ds, "bad", add=[5])
    assert ds.tag_path("bad").read_text() == "1\nrow 2\n3\n"
