#!/usr/bin/env bash
# Set up (idempotent), run the bundled demo dataset to an explorable scope through Dagster, then serve the
# viewer and the Dagster UI side by side. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
LS_SKIP_APT="${LS_SKIP_APT:-1}" bash scripts/setup.sh
export HF_HUB_OFFLINE=1
export LATENT_SCOPE_DATA="${LATENT_SCOPE_DATA:-$PWD/demo-data}"
PORT="${LS_PORT:-5001}"
export LS_DAGSTER_PORT="${LS_DAGSTER_PORT:-3000}"
.venv/bin/ls-run ls_pipeline/demo/debian-packages-3k.parquet --name debian-demo
# Job control gives `dg dev` its own process group; SIGINT to that group stops it and its children.
set -m
bash scripts/dagster.sh &
DAGSTER_PID=$!
set +m
stop_dagster() {
  kill -INT -- "-$DAGSTER_PID" 2>/dev/null || true
  wait "$DAGSTER_PID" 2>/dev/null || true
}
trap stop_dagster EXIT
echo "== viewer at http://127.0.0.1:${PORT}/ (Ctrl-C stops it and Dagster)"
.venv/bin/ls-serve "$LATENT_SCOPE_DATA" --port "$PORT"
