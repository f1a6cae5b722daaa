#!/usr/bin/env bash
# Refresh requirements.lock on purpose: a fresh .venv with the newest versions pyproject.toml's ranges allow, the
# whole test suite on it, and the new lock kept only if the suite passes (else the old lock is put back).
# Usage: bash scripts/lock.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
cp requirements.lock requirements.lock.previous
restore() { mv requirements.lock.previous requirements.lock; echo "== the suite failed: requirements.lock is unchanged"; }
rm -rf .venv
LS_UNLOCKED=1 bash scripts/setup.sh
{
  sed -n '1,3p' requirements.lock.previous  # the header
  .venv/bin/python -m pip freeze --exclude-editable | sed -E 's/^torch==([0-9.]+)\+cpu$/torch==\1/'
} > requirements.lock
if bash scripts/test.sh "$@"; then
  rm requirements.lock.previous
  echo "== requirements.lock refreshed; review it with: git diff requirements.lock"
else
  restore
  exit 1
fi
