#!/usr/bin/env bash
# Set up (idempotent), run the bundled demo dataset to an explorable scope, then serve the viewer.
set -euo pipefail
cd "$(dirname "$0")/.."
LS_SKIP_APT="${LS_SKIP_APT:-1}" bash scripts/setup.sh
export HF_HUB_OFFLINE=1
export LATENT_SCOPE_DATA="${LATENT_SCOPE_DATA:-$PWD/demo-data}"
PORT="${LS_PORT:-5001}"
.venv/bin/ls-run ls_pipeline/demo/debian-packages-3k.parquet --name debian-demo
echo "== viewer at http://127.0.0.1:${PORT}/ (Ctrl-C stops it)"
exec .venv/bin/ls-serve "$LATENT_SCOPE_DATA" --port "$PORT"
