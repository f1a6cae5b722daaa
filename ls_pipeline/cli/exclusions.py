"""ls-duplicates and ls-exclude: near-duplicate rows, and the rows a dataset's next run leaves out."""

from __future__ import annotations

import argparse

from ls_pipeline import params
from ls_pipeline.cli.command import DATASET_HELP, api, arguments, command, stage_arguments
from ls_pipeline.errors import UserError


@command("ls-duplicates", "Find near-duplicate rows: groups of rows at or above a cosine similarity threshold.")
@arguments(stage_arguments("duplicates", "dataset_id", "embedding_id"))
def ls_duplicates(args: argparse.Namespace) -> int:
    print(api().duplicates(args.dataset_id, args.embedding_id, **params.given(args)))
    return 0


@command(
    "ls-exclude", "Change a dataset's exclusion list (rows the next run leaves out of its fit); prints the version."
)
@arguments(
    lambda p: (
        p.add_argument("dataset_id", help=DATASET_HELP),
        p.add_argument("--rows", help="ls_index values to exclude, comma-separated"),
        p.add_argument("--tag", help="exclude a tag's rows"),
        p.add_argument(
            "--duplicates",
            nargs="?",
            const="",
            help="exclude all but one row of each near-duplicate "
            "group (of the given duplicates id; default: the newest)",
        ),
        p.add_argument("--restore", help="ls_index values to bring back, comma-separated"),
        p.add_argument("--undo", action="store_true", help="undo the last change"),
    )
)
def ls_exclude(args: argparse.Namespace) -> int:
    print(api().exclude(
        args.dataset_id, rows=_indices(args.rows), tag=args.tag, duplicates_id=args.duplicates,
        restore=_indices(args.restore), undo=args.undo,
    ))  # fmt: skip
    return 0


def _indices(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"rows are ls_index integers separated by commas, got {text!r:.60}") from None
