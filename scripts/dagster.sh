#!/usr/bin/env bash
# Start Dagster (`dagster dev`: webserver + daemon, so sensors, the schedule and queued runs work) on the data
# directory. Ctrl-C stops it. Settings, all optional:
#   LATENT_SCOPE_DATA   data directory (default ./demo-data)
#   DAGSTER_HOME        instance folder (default $LATENT_SCOPE_DATA/_dagster; given ./dagster.yaml if it has none)
#   LS_DAGSTER_HOST / LS_DAGSTER_PORT   where the UI listens (default 127.0.0.1:3000)
# Started from another script, run it under job control (`set -m; bash scripts/dagster.sh &`) and stop it with
# SIGINT to its process group: a plain background `dagster dev` ignores SIGINT and SIGTERM (see NOTES-env).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LS_VENV:-.venv}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
export LATENT_SCOPE_DATA="$(realpath -m "${LATENT_SCOPE_DATA:-$PWD/demo-data}")"
mkdir -p "$LATENT_SCOPE_DATA/_inbox" "$LATENT_SCOPE_DATA/_recipes"
# The same DAGSTER_HOME rule as ls-run, and the SQLite schema created once here: the webserver and the daemon
# would otherwise race to create it on a fresh instance.
DAGSTER_HOME="$("$VENV/bin/python" -c '
import dagster
from ls_pipeline.defs.runner import open_instance
from ls_pipeline.store import DataDir, resolve_data_dir
import os
with open_instance(DataDir(resolve_data_dir())) as instance:
    print(os.environ["DAGSTER_HOME"])
')"
export DAGSTER_HOME
echo "== Dagster UI at http://${LS_DAGSTER_HOST:-127.0.0.1}:${LS_DAGSTER_PORT:-3000}/ (instance $DAGSTER_HOME)"
exec "$VENV/bin/dagster" dev -w workspace.yaml -h "${LS_DAGSTER_HOST:-127.0.0.1}" -p "${LS_DAGSTER_PORT:-3000}"
