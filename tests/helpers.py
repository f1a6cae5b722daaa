"""Small helpers shared by test modules."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root with its content hash (lock files excluded: taking a lock is not a write)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def run_cli(
    main: Callable[[Sequence[str] | None], int], args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run a CLI command in-process (the same code path as the console script) and capture its output."""
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def umap_layouts(ds: Any) -> list[str]:
    """The dataset's maps made by the umap stage, without the maps a clustering redrew from them."""
    return [i for i in ds.ids("umap") if "redrawn_from" not in ds.sidecar("umap", i)]
