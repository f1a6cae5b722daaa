"""Labelled real text sets for bench/cluster_quality.py and bench/map_quality.py, embedded once and cached in
bench/results/.

- debian: Debian package descriptions (--data FILE, default the repository's sample), labelled by Debian section
  (58 sections, the largest 10% of rows); a seeded sample, exact duplicate texts kept as real data has them.
  debian-1k and debian-50k are the same draw at 1,000 and 50,000 rows.
- demo: the 3,000 rows of the shipped demo (ls_pipeline/demo/debian-packages-3k.parquet), labelled by section.
- fortunes: Debian's `fortunes` and `fortunes-min` packages (/usr/share/games/fortunes), one text per fortune,
  labelled by the file it comes from (science, law, politics, linux, ...). Files that are mixed by design
  (fortunes, miscellaneous, cookie, linuxcookie), ASCII art and files under 100 fortunes are left out; an equal
  seeded sample from each of the rest, so no label dominates (100 each; fortunes-1k: 37 each, 999 rows).
  Missing? `apt-get install -y fortunes fortunes-min`.

The Debian sets share one embedding of every row of the Debian file (about 64,000 rows: minutes on two cores, once).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.machine import SAMPLE, data_file

RESULTS = Path(__file__).resolve().parent / "results"
DEMO = SAMPLE
FORTUNES = Path("/usr/share/games/fortunes")
MIXED_FORTUNES = {"fortunes", "miscellaneous", "cookie", "linuxcookie", "art", "ascii-art"}
SEED = 42


@dataclass(frozen=True)
class LabelledSet:
    name: str
    texts: list[str]
    labels: np.ndarray  # one integer class per text
    embeddings: np.ndarray  # float32, unit length, one row per text


def debian(path: Path, rows: int = 3000) -> pd.DataFrame:
    """A seeded sample: text, label, and `row`, the row's position in the Debian file (its cached vector)."""
    frame = pd.read_parquet(path, columns=["section", "text"])
    sample = frame.sample(n=rows, random_state=SEED)
    return pd.DataFrame({"text": sample["text"], "label": sample["section"], "row": sample.index}).reset_index(
        drop=True
    )


def demo(path: Path) -> pd.DataFrame:
    """The demo's rows, each matched to its row in the Debian file by package name and text."""
    frame = pd.read_parquet(path, columns=["package", "text"]).reset_index(names="row")
    shipped = pd.read_parquet(DEMO, columns=["package", "section", "text"])
    matched = shipped.merge(frame.drop_duplicates(["package", "text"]), on=["package", "text"], how="left")
    if matched["row"].isna().any():
        raise SystemExit(f"{DEMO.name}: {int(matched['row'].isna().sum())} rows are not in {path}")
    return pd.DataFrame({"text": matched["text"], "label": matched["section"], "row": matched["row"].astype(int)})


def fortunes(per_file: int = 100) -> pd.DataFrame:
    _ensure_fortunes()
    parts = []
    for path in sorted(FORTUNES.iterdir()):
        if path.suffix or not path.is_file() or path.name in MIXED_FORTUNES:
            continue
        entries = [e.strip() for e in path.read_text(encoding="utf-8", errors="replace").split("\n%\n")]
        entries = [e for e in entries if len(e) >= 20]  # a bare "%" or a one-word line says nothing
        if len(entries) < 100:
            continue
        picked = np.random.default_rng(SEED).choice(len(entries), size=per_file, replace=False)
        parts.append(pd.DataFrame({"text": [entries[i] for i in sorted(picked)], "label": path.name}))
    return pd.concat(parts, ignore_index=True)


def _ensure_fortunes() -> None:
    if FORTUNES.is_dir():
        return
    if shutil.which("apt-get") and Path("/proc/self").stat().st_uid == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "fortunes", "fortunes-min"], check=True)
    if not FORTUNES.is_dir():
        raise SystemExit("fortunes are missing: run `apt-get install -y fortunes fortunes-min` as root")


# Each loader takes the Debian file; the fortunes sets ignore it.
LOADERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "debian": debian,
    "fortunes": lambda _: fortunes(),
    "demo": demo,
    "debian-1k": lambda path: debian(path, 1000),
    "fortunes-1k": lambda _: fortunes(37),
    "debian-50k": lambda path: debian(path, 50_000),
}
DEBIAN_ROWS = {"debian": 3000, "debian-1k": 1000, "debian-50k": 50_000}


def load(name: str, debian_file: Path | None = None) -> LabelledSet:
    """The set's texts, labels and embeddings; embeddings come from the cache when the texts are unchanged.
    The Debian sets are drawn from `debian_file` (default: the repository's sample, where it holds enough rows)."""
    path = data_file(debian_file, DEBIAN_ROWS.get(name, 0))
    frame = LOADERS[name](path)
    texts = frame["text"].astype(str).tolist()
    labels = pd.factorize(frame["label"])[0]
    if "row" in frame:
        return LabelledSet(name, texts, labels, debian_embeddings(path)[frame["row"].to_numpy()])
    return LabelledSet(name, texts, labels, _cached_embeddings(name, texts))


def debian_embeddings(path: Path) -> np.ndarray:
    """One vector per row of the Debian file, in its order."""
    texts = pd.read_parquet(path, columns=["text"])["text"].astype(str).tolist()
    return _cached_embeddings("debian-all", texts)


def _cached_embeddings(name: str, texts: list[str]) -> np.ndarray:
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache = RESULTS / f"quality-{name}.npz"
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()
    if cache.is_file():
        stored = np.load(cache)
        if str(stored["digest"]) == digest:
            return stored["embeddings"]
    embeddings = _embed(texts)
    np.savez(cache, embeddings=embeddings, digest=np.array(digest))
    return embeddings


def _embed(texts: list[str]) -> np.ndarray:
    """The pipeline's own embedding stage (all-MiniLM-L6-v2, length-sorted batches of 64)."""
    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
    from ls_pipeline.stages.embed import EmbedParams, embed_batches

    out = np.zeros((len(texts), 384), dtype=np.float32)
    for rows, vectors in embed_batches(texts, load_embedder(DEFAULT_MODEL), EmbedParams()):
        out[rows] = vectors
    return out
