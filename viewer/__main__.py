"""python -m viewer [DATA_DIR] [--host 127.0.0.1] [--port 5001]: the viewer without the rest of the CLI."""

from __future__ import annotations

import argparse
import sys

from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import resolve_data_dir
from ls_pipeline.store.location import is_remote
from viewer.server import run_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewer", description="Serve a data directory's scopes.")
    parser.add_argument("data_dir", nargs="?")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    try:
        root = resolve_data_dir(args.data_dir)
        if not is_remote(root) and not root.is_dir():
            raise UserError(f"data directory {args.data_dir or root.name!r} does not exist; run `ls-init PATH` first")
        run_server(root, host=args.host, port=args.port)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
