#!/usr/bin/env bash
# Set up (idempotent), then ruff, the documentation build and every test. Extra arguments go to pytest.
# A whole run (no arguments) then runs the numeric tests again as if on another CPU (--perturb,
# docs/reproducibility.md): a result near a threshold fails here rather than on the next kind of machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/ruff check .
# The documentation site, strict: a broken link or anchor, or a page left out of the nav, fails the run (build/site/).
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict  # not --quiet: it hides the warnings strict counts
if [ $# -gt 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
.venv/bin/python -m pytest
exec .venv/bin/python -m pytest -m numeric --perturb -q
