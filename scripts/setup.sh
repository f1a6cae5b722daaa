#!/usr/bin/env bash
# Set up everything on a fresh Debian machine (Python 3.11+, Node, root): the virtual environment with the
# CPU build of torch, this package with its test tools, Debian's Chromium for browser tests, and the frontend.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${LS_SKIP_APT:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium (browser tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
# torch first and pinned: any other torch request would pull a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "== installing torch 2.13.0 (CPU)"
  $PIP install torch==2.13.0 2>&1 | grep -v -E "^WARNING: Location .* is ignored" || true
fi
echo "== installing ls-pipeline and its dependencies"
$PIP install -e ".[test]" 2>&1 | grep -v -E "^WARNING: Location .* is ignored" || true
.venv/bin/python -c "import ls_pipeline, torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"

if [ -f viewer/frontend/package.json ]; then
  echo "== building the explore frontend"
  (cd viewer/frontend && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
fi
echo "== setup done"
