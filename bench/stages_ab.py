"""Our CLI stages after the embedding, two code trees interleaved: which per-process and per-stage cuts help.

compare_latentscope.py runs each stage once, so on a shared machine a change of load between two runs swamps a
change of a second or two. Here the embedding is made once (it is the same in both trees unless a tree changes it),
then, per repeat, each tree in turn gets a fresh copy of that data folder and runs, as its own commands: ingest
(a new dataset from the same file), umap, cluster, label, scope: the stages of compare_latentscope.py.

Run (a tree is a checkout: PYTHONPATH selects its ls_pipeline):
  PYTHONPATH=$PWD .venv/bin/python bench/stages_ab.py --tree before=/tmp/base --tree after=$PWD \
      --rows 5000 --repeats 3 --work /tmp/ab
Prints each stage's median seconds per tree and the load average; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_latentscope import DATASET, Params, run, sample  # noqa: E402

from bench.machine import add_data_argument, data_file, machine_line  # noqa: E402

STAGES = ("ingest", "umap", "cluster", "label", "scope")


def commands(src: Path, p: Params) -> list[tuple[str, list[str]]]:
    return [
        ("ingest", ["ls-ingest", "fresh", str(src), "--text_column", "text"]),
        ("umap", ["ls-umap", DATASET, "embedding-001", str(p.neighbors), str(p.min_dist), "--seed", str(p.seed)]),
        ("cluster", ["ls-cluster", DATASET, "umap-001", str(p.min_cluster_size), str(p.min_samples)]),
        ("label", ["ls-label", DATASET, "text", "cluster-001", "keywords"]),
        ("scope", ["ls-scope", DATASET, "cluster-001-labels-001", "bench", "bench scope"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a checkout (two or more)")
    parser.add_argument("--rows", type=int, default=5000)
    add_data_argument(parser)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    trees = dict(item.split("=", 1) for item in args.tree)
    args.work.mkdir(parents=True, exist_ok=True)
    src, _ = sample(data_file(args.data, args.rows + args.rows // 100), args.rows, args.work)
    bin_dir = Path(sys.executable).parent
    base_env = {k: v for k, v in os.environ.items() if k not in ("LATENT_SCOPE_DATA", "PYTHONPATH", "VIRTUAL_ENV")}
    base_env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    embedded = args.work / "embedded"
    first = next(iter(trees.values()))
    if not (embedded / DATASET / "embeddings").is_dir():  # made once, with the first tree
        env = base_env | {"LATENT_SCOPE_DATA": str(embedded), "PYTHONPATH": first}
        run([str(bin_dir / "ls-ingest"), DATASET, str(src), "--text_column", "text"], env, args.work, "setup", "ingest")
        run([str(bin_dir / "ls-embed"), DATASET, "text"], env, args.work, "setup", "embed")
    load = os.getloadavg()
    print(f"{args.rows} rows, {args.repeats} repeats; load before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    times: dict[str, dict[str, list[float]]] = {name: {s: [] for s in STAGES} for name in trees}
    for _ in range(args.repeats):
        for name, tree in trees.items():
            data = args.work / f"data-{name}"
            shutil.rmtree(data, ignore_errors=True)
            shutil.copytree(embedded, data, ignore=shutil.ignore_patterns("knn"))  # no neighbour graph to reuse
            env = base_env | {"LATENT_SCOPE_DATA": str(data), "PYTHONPATH": tree}
            for stage, cmd in commands(src, Params()):
                step = run([str(bin_dir / cmd[0]), *cmd[1:]], env, args.work, name, stage)
                times[name][stage].append(step.wall_s)
    load = os.getloadavg()
    names = list(trees)
    print("\n| stage | " + " | ".join(f"{n} s (median)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for stage in (*STAGES, "total"):
        row = []
        for n in names:
            runs = times[n][stage] if stage != "total" else [sum(t) for t in zip(*times[n].values(), strict=True)]
            row.append(f"{statistics.median(runs):.2f} ({', '.join(f'{t:.1f}' for t in runs)})")
        print(f"| {stage} | " + " | ".join(row) + " |")
    print(f"load after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
