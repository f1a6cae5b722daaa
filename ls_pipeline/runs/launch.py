"""Dagster's own processes (`dg dev`, the webserver, the daemon) started on a data directory.

Dagster's CLI loads a `.env` from its working directory *over* the environment, and `ls-init` (like Latent Scope's
own) writes LATENT_SCOPE_DATA into `./.env`. Left alone, a user who exports LATENT_SCOPE_DATA in a folder holding such
a file would get the file's data directory in the UI and the daemon, and the environment's in `ls-run`. So the data
directory is resolved here as everywhere else (LATENT_SCOPE_DATA from the environment, else `./.env`), DAGSTER_HOME
is set, and Dagster starts in the instance folder, where no `.env` lies. Dagster also starts with SIGINT and SIGTERM
handled the default way, however this launcher was started, so Ctrl-C and `kill` stop it.

    python -m ls_pipeline.runs.launch /abs/path/.venv/bin/dg dev -w /abs/path/workspace.yaml
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from ls_pipeline import settings
from ls_pipeline.errors import UserError
from ls_pipeline.runs.runner import dagster_home, open_instance
from ls_pipeline.runs.stuck_runs import clear_stuck_runs
from ls_pipeline.store.datadir import DATA_ENV, DataDir, resolve_data_dir


def dagster_process(data: DataDir) -> tuple[dict[str, str], Path]:
    """The environment and the working directory for a Dagster CLI process on `data`."""
    home = dagster_home(data)
    return settings.child_environment(**{DATA_ENV: str(data.root.resolve()), "DAGSTER_HOME": str(home)}), home


def restore_stop_signals() -> None:
    """SIGINT and SIGTERM back to their default handling, for the program this process becomes.

    A command started with `&` from a non-interactive shell inherits SIGINT ignored, and an ignored signal survives
    exec: Python then keeps SIGINT ignored, and Dagster gives SIGTERM SIGINT's handler, so `dg dev` and every service
    it starts would ignore both. Its webserver and daemon take SIGINT with handlers of their own but then wait for
    `dg dev` to tell them to stop, which it never does: the whole tree outlived Ctrl-C and `kill`."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> None:
    command = argv if argv is not None else sys.argv[1:]
    if not command:
        sys.exit("usage: python -m ls_pipeline.runs.launch DAGSTER_COMMAND [ARGS...] (paths in ARGS absolute)")
    try:
        data = DataDir(resolve_data_dir())
    except UserError as exc:
        sys.exit(f"error: {exc}")
    for folder in (data.inbox, data.recipes):  # the inbox sensor and the UI's recipes look there
        folder.mkdir(parents=True, exist_ok=True)
    with open_instance(data) as instance:  # the SQLite schema, created once here: the webserver and the daemon race
        for stuck in clear_stuck_runs(instance):  # runs whose process died while no daemon watched
            print(f"== {stuck.cleared_line()}", file=sys.stderr)
    env, cwd = dagster_process(data)
    print(f"== data directory {data.root}, instance {env['DAGSTER_HOME']}", file=sys.stderr)
    os.chdir(cwd)
    restore_stop_signals()
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
