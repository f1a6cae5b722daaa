#!/usr/bin/env bash
# Set up (idempotent), run the bundled demo dataset to an explorable scope through Dagster, then serve the
# viewer and the Dagster UI side by side. Ctrl-C (or SIGINT, SIGTERM, SIGHUP to the script) stops everything it
# started. Settings, all optional:
#   LATENT_SCOPE_DATA   data directory (default ./demo-data)
#   LS_PORT / LS_DAGSTER_PORT   the viewer's and the Dagster UI's ports (default 5001 and 3000)
#   LS_DEMO_FILE        a data file of your own to run instead of the bundled one (the dataset takes its name)
#   LS_SKIP_SETUP=1     skip scripts/setup.sh (an environment set up already)
set -euo pipefail

# Started in the background by another script (`bash scripts/demo.sh &`), the demo inherits SIGINT ignored. A signal
# ignored on entry stays ignored in bash (no trap can take it) and in every program it starts: Python keeps it
# ignored, and Dagster then ignores SIGTERM too (it gives SIGTERM SIGINT's handler), so nothing stopped Dagster.
# `trap -p` lists the signals ignored on entry; start over with their default handling. (SIGHUP is left as found:
# ignored, it is `nohup`'s request to outlive the terminal.)
if [ -n "$(trap -p INT TERM)" ]; then
  exec env --default-signal=INT,TERM bash "$0" "$@"
fi
[ -z "${LS_DEMO_FILE:-}" ] || LS_DEMO_FILE="$(realpath -m -- "$LS_DEMO_FILE")" # relative to where it was started
cd "$(dirname "$0")/.."

# The process groups of what the demo runs now; stop() signals each group as a whole, so no child or grandchild is
# missed. Job control (`set -m`) gives each background job a group of its own. The script waits for its jobs rather
# than running them in the foreground, so a trapped signal interrupts `wait` at once (a foreground command would
# hold the trap until it ended, and `ls-run` waiting for a pool slot does not end on SIGINT).
process_groups=()
in_own_group() {
  set -m
  "$@" &
  process_groups+=("$!")
  set +m
}
running() {
  local group
  for group in "${process_groups[@]}"; do
    kill -0 -- "-$group" 2>/dev/null && return 0
  done
  return 1
}
signal_groups() {
  local group
  for group in "${process_groups[@]}"; do
    kill "-$1" -- "-$group" 2>/dev/null || true
  done
}
# SIGINT first: `ls-run`, the viewer, `dg dev` and the services it started (webserver, daemon, code servers, a run
# in progress) shut down cleanly on it. Then a bounded wait, and SIGKILL for whatever is left: `dg dev` alone gives
# each service a minute, and a run worker in a long C call or a browser's open connection can keep a process busy.
# A second Ctrl-C (or SIGTERM) cuts the wait short.
stop() {
  local status=$1 deadline
  trap - EXIT
  trap 'deadline=0' INT TERM HUP
  if running; then
    echo "== stopping the demo (Ctrl-C again to kill what is left now)" >&2
    signal_groups INT
    deadline=$((SECONDS + 7))
    # `|| true`: a second Ctrl-C ends this sleep too, and set -e must not take that for a failure.
    while running && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2 || true; done
    if running; then
      echo "== still running: killing what is left" >&2
      signal_groups KILL
    fi
  fi
  exit "$status"
}
# Set before anything starts, so a signal at any moment stops what has started so far.
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'stop 129' HUP
trap 'stop $?' EXIT

[ "${LS_SKIP_SETUP:-0}" = 1 ] || LS_SKIP_APT="${LS_SKIP_APT:-1}" bash scripts/setup.sh
export HF_HUB_OFFLINE=1
export LATENT_SCOPE_DATA="${LATENT_SCOPE_DATA:-$PWD/demo-data}"
PORT="${LS_PORT:-5001}"
export LS_DAGSTER_PORT="${LS_DAGSTER_PORT:-3000}"
if [ -n "${LS_DEMO_FILE:-}" ]; then
  in_own_group .venv/bin/ls-run "$LS_DEMO_FILE"
else
  in_own_group .venv/bin/ls-run ls_pipeline/demo/debian-packages-3k.parquet --name debian-demo
fi
wait "$!"
process_groups=() # ended
in_own_group bash scripts/dagster.sh
in_own_group .venv/bin/ls-serve "$LATENT_SCOPE_DATA" --port "$PORT"
echo "== viewer at http://127.0.0.1:${PORT}/ (Ctrl-C stops it and Dagster)"
wait "$!"
