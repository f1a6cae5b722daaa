#!/usr/bin/env bash
# Set up (idempotent), then ruff, the documentation build and every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/ruff check .
# The documentation site, strict: a broken link or anchor, or a page left out of the nav, fails the run (build/site/).
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict  # not --quiet: it hides the warnings strict counts
exec .venv/bin/python -m pytest "$@"
