"""ls-init and ls-serve: choose the data directory, and serve its scopes."""

from __future__ import annotations

import argparse

from ls_pipeline.cli.command import api, arguments, command
from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import DATA_ENV, LOCAL_ENV
from ls_pipeline.store.location import is_remote, parse_root


@command("ls-init", "Choose the data directory (written to ./.env) and optionally store API keys in its .env.")
@arguments(
    lambda p: (
        p.add_argument("data_dir", help="a folder (created if missing) or s3://bucket/prefix"),
        p.add_argument("--openai_key", help="stored in the data directory's .env (a local folder only)"),
        p.add_argument("--mistral_key", help="stored in the data directory's .env (a local folder only)"),
    )
)
def ls_init(args: argparse.Namespace) -> int:
    keys = {k: v for k, v in (("openai_key", args.openai_key), ("mistral_key", args.mistral_key)) if v}
    root = api().init(args.data_dir, **keys)
    api()._update_env_file(LOCAL_ENV, {DATA_ENV: str(root)})
    print(root)
    return 0


@command("ls-serve", "Serve the data directory's scopes in the viewer.")
@arguments(
    lambda p: (
        p.add_argument("data_dir", nargs="?", help="a folder or s3://bucket/prefix (default: the data directory)"),
        p.add_argument("--host", default="127.0.0.1", help="the address to listen on"),
        p.add_argument("--port", type=int, default=5001, help="the port to listen on"),
    )
)
def ls_serve(args: argparse.Namespace) -> int:
    if args.data_dir:
        root = parse_root(args.data_dir)
        if not is_remote(root) and not root.is_dir():  # serving must not create a folder from a typo
            raise UserError(f"data directory {args.data_dir!r} does not exist; give the folder `ls-init` made")
        api().init(args.data_dir)
    api().serve(args.host, args.port)
    return 0
