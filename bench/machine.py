"""What every bench shares: the line it prints beside its figures (which CPU features ran them, how loaded the
machine was), percentiles, and the data file it reads (an argument, with a clear error when it is missing).

Figures from different CPUs (AVX2 against AVX-512 with VNNI) or loads are not comparable; this says which ones.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from ls_pipeline.cpu import cpu_record


def machine_line() -> str:
    cpu = cpu_record()
    features = " ".join(cpu["features"]) or "none of note"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {cpu['model']} ({cpu['arch']}, {os.cpu_count()} cores), {features}; load average {load}"


def load() -> str:
    """The load average (1, 5 and 15 minutes), to print beside each figure: the shared machine's load drifts."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def markdown_table(rows: list[dict[str, object]], columns: list[tuple[str, str, str]]) -> str:
    """`rows` as a Markdown table, one column per (heading, key, format spec): text (spec "") left-aligned, numbers
    (".3f", ".1%", ...) right-aligned."""
    lines = [
        "| " + " | ".join(heading for heading, _, _ in columns) + " |",
        "|" + "|".join("---" if not spec else "---:" for _, _, spec in columns) + "|",
    ]
    lines += ["| " + " | ".join(format(r[key], spec) for _, key, spec in columns) + " |" for r in rows]
    return "\n".join(lines)


def percentiles(samples: list[float]) -> str:
    """p50 and p99 of `samples` (seconds), in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    return f"p50 {statistics.median(ms):7.2f} ms  p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:7.2f} ms"


# The benches read real text: the Debian archive's package descriptions as Parquet (columns package, section, text).
# The repository ships a sample of them; a bench that needs more rows is given the whole file with --data.
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "ls_pipeline" / "demo" / "debian-packages-3k.parquet"
SAMPLE_ROWS = 3000
DATA_HELP = (
    "a Parquet file of Debian package descriptions (columns package, section, text); default: the repository's "
    f"{SAMPLE_ROWS:,}-row sample, ls_pipeline/demo/{SAMPLE.name}"
)


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help=DATA_HELP)


def data_file(path: Path | None, rows: int = 0) -> Path:
    """The data file a bench reads: `path`, else the shipped sample when it holds `rows`; else one line saying to
    pass --data, and exit."""
    if path is None:
        if rows > SAMPLE_ROWS:
            sys.exit(
                f"{rows:,} rows is more than the repository's {SAMPLE_ROWS:,}-row sample: pass --data FILE, a Parquet "
                "file of Debian package descriptions (columns package, section, text)"
            )
        return SAMPLE
    if not path.is_file():
        sys.exit(f"no data file {path}: pass --data FILE, a Parquet file with a text column")
    return path


def distinct_texts(path: Path, rows: int) -> pd.DataFrame:
    """The first `rows` distinct, non-blank texts of `path` (column text)."""
    frame = pd.read_parquet(path, columns=["text"]).drop_duplicates("text")
    return frame[frame["text"].str.strip() != ""].head(rows).reset_index(drop=True)


def timed_process(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run `command` under /usr/bin/time -v: wall seconds, its peak RSS in MB (-1 where not reported), its stdout.
    A failure exits with the tail of its stderr. Each stage in a process of its own: its peak RSS is its own."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} ... failed:\n{done.stderr[-3000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return seconds, int(peak.group(1)) // 1024 if peak else -1, done.stdout
