"""The embedding, UMAP and end-to-end figures side by side in one run: each bench below in its own process, one after
another, with the load average before and after each and its wall time, all output into one log.

    PYTHONPATH=$PWD .venv/bin/python bench/round_two.py [--log FILE] [--parts gemm,int8,...] [--data FILE]

Parts (in this order): gemm (embed_gemm_limit: the fp32 default against the GEMM limit), int8 (embed_int8: the
ceiling, then the shipped int8 recipe and the old one), numba (numba_compile: a cold and a warm ls-umap),
compare3k and compare5k (compare_latentscope: end to end against Latent Scope 1.0, which
bench/setup_latentscope.sh installs), search (search_latency, with bench/million.py's 1M scope when its root
exists), million-viewer (points, rows and search on that scope: million.py's viewer stage; its other stages take
most of an hour and are run apart), frame (frontend_first_frame at 100k and 1M points, from the demo scope, which
is built first if missing). Give the machine to this run alone: the figures are only worth their load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.machine import DATA_HELP, load, machine_line

REPO = Path(__file__).resolve().parents[1]
MILLION_ROOT = Path("/tmp/ls-million")
DEMO_DATA = REPO / "demo-data"


def parts(data: Path | None = None) -> dict[str, list[str]]:
    """Each part's command; `data` (the Debian descriptions file) goes to the benches that read it."""
    bench = [sys.executable]
    given = ["--data", str(data)] if data else []
    search = ["bench/search_latency.py", "--requests", "200", "--requests-only", *given]
    if MILLION_ROOT.exists():
        search += ["--million-root", str(MILLION_ROOT)]
    return {
        "gemm": bench + ["bench/embed_gemm_limit.py", "--rows", "512", *given],
        "int8": bench + ["bench/embed_int8.py", "--rows", "2000", "--only", "shipped", "dynamic", *given],
        "numba": bench + ["bench/numba_compile.py", "--rows", "500", "--runs", "3"],
        "compare3k": bench + ["bench/compare_latentscope.py", "--rows", "3000", "--skip-reruns", *given],
        "compare5k": bench + ["bench/compare_latentscope.py", "--rows", "5000", "--skip-reruns", *given],
        "search": bench + search,
        "million-viewer": bench + ["bench/million.py", str(MILLION_ROOT), "--stages", "viewer"],
        "frame": bench + ["bench/frontend_first_frame.py", "--data", str(DEMO_DATA), "--repeat", "5"],
    }



def ensure_demo_scope(env: dict[str, str], log) -> None:
    """The first-frame bench tiles the demo's scope; build it once (not timed) if this checkout has none."""
    if (DEMO_DATA / "debian-demo" / "scopes").is_dir():
        return
    run_id = [
        str(Path(sys.executable).parent / "ls-run"),  # the ls-run beside the interpreter running this
        "ls_pipeline/demo/debian-packages-3k.parquet",
        "--name",
        "debian-demo",
    ]
    subprocess.run(
        run_id, cwd=REPO, env={**env, "LATENT_SCOPE_DATA": str(DEMO_DATA)}, stdout=log, stderr=log, check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=REPO / "bench" / "results" / "round-two.log")
    parser.add_argument("--parts", default=",".join(parts()))
    parser.add_argument("--data", type=Path, help=DATA_HELP + " (5,000-row parts need the whole file)")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    chosen = [name.strip() for name in args.parts.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(parts()))
    if unknown:
        sys.exit(f"unknown parts {unknown}: choose from {', '.join(parts())}")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("a") as log:
        if "frame" in chosen:
            ensure_demo_scope(env, log)
        for name in chosen:
            command = parts(args.data)[name]
            shown = " ".join(command[1:])
            header = f"\n===== {name}: {shown}\n===== load before {load()} at {time.strftime('%H:%M:%S')}"
            print(header, flush=True)
            log.write(header + "\n")
            log.flush()
            started = time.monotonic()
            code = subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
            footer = f"===== {name}: exit {code}, {time.monotonic() - started:.0f} s, load after {load()}"
            print(footer, flush=True)
            log.write(footer + "\n")
            log.flush()


if __name__ == "__main__":
    main()
