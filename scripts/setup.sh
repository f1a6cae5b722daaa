#!/usr/bin/env bash
# Set up everything on a fresh Debian machine (Python 3.11+, Node, root): the virtual environment with the
# CPU build of torch, this package with its test and documentation tools (mkdocs), Debian's Chromium for browser
# tests, and the frontend.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests start on their own: chromium (browser tests), redis-server and postgresql (the Celery
# broker and the shared Dagster instance of the cluster tests; the tests run their own servers on loopback), gcc
# (one test compiles a small getenv counter).
apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
command -v cc >/dev/null 2>&1 || apt_missing+=(gcc)
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || apt_missing+=(postgresql)
if [ "${LS_SKIP_APT:-0}" != 1 ] && [ ${#apt_missing[@]} -gt 0 ]; then
  echo "== installing Debian's ${apt_missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
# pip's own failure fails the setup (set -o pipefail); only its noise about this machine's wheel folder is dropped.
quiet() { "$@" 2>&1 | { grep -v -E "^WARNING: Location .* is ignored" || true; }; }
# torch first and pinned: any other torch request would pull a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "== installing torch 2.13.0 (CPU)"
  quiet $PIP install torch==2.13.0
fi
# The exact versions of requirements.lock (the ones the suite passed with); LS_UNLOCKED=1 (scripts/lock.sh) takes the
# newest that pyproject.toml's ranges allow instead.
LOCK="-c requirements.lock"
[ "${LS_UNLOCKED:-0}" = 1 ] && LOCK=""
echo "== installing ls-pipeline and its dependencies${LOCK:+ (versions from requirements.lock)}"
quiet $PIP install $LOCK -e ".[test]"
.venv/bin/python -c "import ls_pipeline, torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
# The example dg project (its dependencies are ls-pipeline, just installed, and its own): `dg check defs` runs there.
echo "== installing examples/support_tickets"
quiet $PIP install $LOCK -e examples/support_tickets

if [ -f viewer/frontend/package.json ]; then
  echo "== building the explore frontend"
  (cd viewer/frontend && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
fi
echo "== setup done"
