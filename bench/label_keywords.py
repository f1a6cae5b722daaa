"""Time the offline keyword labeler on real data: Debian sections split in four by package name as clusters.

    PYTHONPATH=$PWD .venv/bin/python bench/label_keywords.py [--data FILE] [--rows ROWS]
"""

from __future__ import annotations

import argparse
import resource
import time
import zlib

import pandas as pd

from bench.machine import add_data_argument, data_file, machine_line
from ls_pipeline.stages.label import keyword_labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="the first ROWS rows (default: all)")
    add_data_argument(parser)
    args = parser.parse_args()
    rows = args.rows
    print(machine_line(), flush=True)
    frame = pd.read_parquet(data_file(args.data, rows), columns=["package", "section", "text"])
    frame = frame.head(rows) if rows else frame
    split = frame["package"].map(lambda name: str(zlib.crc32(name.encode()) % 4))
    codes, names = pd.factorize(frame["section"] + "/" + split)
    started = time.perf_counter()
    labels = keyword_labels(frame["text"].tolist(), codes, list(range(len(names))))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    distinct = len({label.label for label in labels.values()})
    print(f"{len(frame)} rows, {len(names)} clusters: {seconds:.1f}s, peak RSS {peak} MB, {distinct} distinct labels")
    for cid in range(0, len(names), max(1, len(names) // 8)):
        print(f"  {names[cid]:24} {labels[cid].label}")


if __name__ == "__main__":
    main()
