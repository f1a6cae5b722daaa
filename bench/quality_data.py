"""Labelled real text sets for bench/cluster_quality.py, embedded once and cached in bench/results/.

- debian: Debian package descriptions (--data FILE, default the repository's sample), labelled by Debian section
  (58 sections, the largest 10% of rows); a seeded sample, exact duplicate texts kept as real data has them.
- fortunes: Debian's `fortunes` and `fortunes-min` packages (/usr/share/games/fortunes), one text per fortune,
  labelled by the file it comes from (science, law, politics, linux, ...). Files that are mixed by design
  (fortunes, miscellaneous, cookie, linuxcookie), ASCII art and files under 100 fortunes are left out; an equal
  seeded sample from each of the rest, so no label dominates. Missing? `apt-get install -y fortunes fortunes-min`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.machine import data_file

RESULTS = Path(__file__).resolve().parent / "results"
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
    frame = pd.read_parquet(path, columns=["section", "text"])
    sample = frame.sample(n=rows, random_state=SEED).reset_index(drop=True)
    return pd.DataFrame({"text": sample["text"], "label": sample["section"]})


def fortunes(per_file: int = 100) -> pd.DataFrame:
    _ensure_fortunes()
    parts = []
    for path in sorted(FORTUNES.iterdir()):
        if path.suffix or not path.is_file() or path.name in MIXED_FORTUNES:
            continue
        entries = [e.strip() for e in path.read_text(encoding="utf-8", errors="replace").split("\n%\n")]
        entries = [e for e in entries if len(e) >= 20]  # a bare "%" or a one-word line says nothing
        if len(entries) < per_file:
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


LOADERS = {"debian": debian, "fortunes": fortunes}


def load(name: str, debian_file: Path | None = None) -> LabelledSet:
    """The set's texts, labels and embeddings; embeddings come from the cache when the texts are unchanged.
    The debian set is sampled from `debian_file` (default: the repository's sample)."""
    frame = debian(data_file(debian_file, 3000)) if name == "debian" else LOADERS[name]()
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache = RESULTS / f"quality-{name}.npz"
    texts = frame["text"].astype(str).tolist()
    digest = _digest(texts)
    if cache.is_file():
        stored = np.load(cache)
        if str(stored["digest"]) == digest:
            return LabelledSet(name, texts, pd.factorize(frame["label"])[0], stored["embeddings"])
    embeddings = _embed(texts)
    np.savez(cache, embeddings=embeddings, digest=np.array(digest))
    return LabelledSet(name, texts, pd.factorize(frame["label"])[0], embeddings)


def _digest(texts: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()


def _embed(texts: list[str]) -> np.ndarray:
    """The pipeline's own embedding stage (all-MiniLM-L6-v2, length-sorted batches of 64)."""
    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
    from ls_pipeline.stages.embed import EmbedParams, embed_batches

    out = np.zeros((len(texts), 384), dtype=np.float32)
    for rows, vectors in embed_batches(texts, load_embedder(DEFAULT_MODEL), EmbedParams()):
        out[rows] = vectors
    return out
