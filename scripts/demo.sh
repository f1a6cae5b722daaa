#!/usr/bin/env bash
# Set up (idempotent), run the bundled demo dataset to an explorable scope through Dagster, then serve the
# viewer and the Dagster UI side by side. Ctrl-C stops both. Settings, all optional:
#   LATENT_SCOPE_DATA   data directory (default ./demo-data)
#   LS_PORT / LS_DAGSTER_PORT   the viewer's and the Dagster UI's ports (default 5001 and 3000)
#   LS_DEMO_FILE        a data file of your own to run instead of the bundled one (the dataset takes its name)
#   LS_SKIP_SETUP=1     skip scripts/setup.sh (an environment set up already)
set -euo pipefail
[ -z "${LS_DEMO_FILE:-}" ] || LS_DEMO_FILE="$(realpath -m -- "$LS_DEMO_FILE")" # relative to where it was started
cd "$(dirname "$0")/.."
[ "${LS_SKIP_SETUP:-0}" = 1 ] || LS_SKIP_APT="${LS_SKIP_APT:-1}" bash scripts/setup.sh
export HF_HUB_OFFLINE=1
export LATENT_SCOPE_DATA="${LATENT_SCOPE_DATA:-$PWD/demo-data}"
PORT="${LS_PORT:-5001}"
export LS_DAGSTER_PORT="${LS_DAGSTER_PORT:-3000}"
if [ -n "${LS_DEMO_FILE:-}" ]; then
  .venv/bin/ls-run "$LS_DEMO_FILE"
else
  .venv/bin/ls-run ls_pipeline/demo/debian-packages-3k.parquet --name debian-demo
fi
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
