#!/usr/bin/env bash
# Start Dagster (`dg dev`: webserver + daemon, so sensors, the schedule and queued runs work) on the data
# directory. Ctrl-C stops it. Settings, all optional:
#   LATENT_SCOPE_DATA   data directory (default: the one ls-init wrote to ./.env, else ./demo-data)
#   DAGSTER_HOME        instance folder (default $LATENT_SCOPE_DATA/_dagster; given ./dagster.yaml if it has none)
#   LS_DAGSTER_HOST / LS_DAGSTER_PORT   where the UI listens (default 127.0.0.1:3000)
# Started from another script, stop it with SIGINT or SIGTERM to its process group (under job control,
# `set -m; bash scripts/dagster.sh &`, it has one of its own): that reaches `dg dev` and every process it started.
# The launcher restores both signals' default handling, which a background job of a non-interactive shell lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LS_VENV:-.venv}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
# LATENT_SCOPE_DATA from the environment, else the one `ls-init` wrote to ./.env, else ./demo-data.
if [ -z "${LATENT_SCOPE_DATA:-}" ] && ! grep -qs '^LATENT_SCOPE_DATA=' .env; then
  export LATENT_SCOPE_DATA="$PWD/demo-data"
fi
# The launcher resolves the data directory (the environment wins over ./.env), sets DAGSTER_HOME (default
# $LATENT_SCOPE_DATA/_dagster), creates the instance's schema once, and starts Dagster in the instance folder:
# Dagster's CLI would otherwise load ./.env over the environment. `dg dev -w workspace.yaml` rather than `dg dev` in
# the project folder: dg's project mode loads the project folder's .env over the environment too.
echo "== Dagster UI at http://${LS_DAGSTER_HOST:-127.0.0.1}:${LS_DAGSTER_PORT:-3000}/"
exec "$VENV/bin/python" -m ls_pipeline.runs.launch "$PWD/$VENV/bin/dg" dev -w "$PWD/workspace.yaml" \
  -h "${LS_DAGSTER_HOST:-127.0.0.1}" -p "${LS_DAGSTER_PORT:-3000}"
