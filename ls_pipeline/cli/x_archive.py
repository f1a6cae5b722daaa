"""ls-twitter-import: an X (Twitter) archive as a dataset."""

from __future__ import annotations

import argparse

from ls_pipeline.cli.command import DATASET_HELP, api, arguments, command


def _twitter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset_id", help=DATASET_HELP)
    p.add_argument("--source", choices=["zip", "community"], required=True, help="a native export zip or the archive")
    p.add_argument("--zip_path", help="native X export zip")
    p.add_argument("--username", help="Community Archive user name")
    p.add_argument("--archive_path", help="a Community Archive JSON already on disk")
    p.add_argument("--base_url", help="Community Archive storage URL (or $LATENT_SCOPE_COMMUNITY_ARCHIVE_URL)")
    p.add_argument("--include_likes", action="store_true", help="also the liked tweets (a native export)")
    p.add_argument("--include_notes", action="store_true", help="also the notes (a native export)")
    p.add_argument("--year", type=int, help="only tweets of this year")
    p.add_argument("--lang", help="only tweets in this language (X's code, e.g. en)")
    p.add_argument("--min_favorites", type=int, default=0, help="only tweets with at least this many likes")
    p.add_argument("--min_text_length", type=int, default=0, help="only tweets with at least this many characters")
    p.add_argument("--exclude_replies", action="store_true", help="leave replies out")
    p.add_argument("--exclude_retweets", action="store_true", help="leave retweets out")
    p.add_argument("--top_n", type=int, help="keep the first N tweets in --sort order")
    sorts = ["recent", "oldest", "favorites", "retweets", "engagement"]
    p.add_argument("--sort", default="recent", choices=sorts, help="the order --top_n keeps")
    p.add_argument("--run_pipeline", action="store_true", help="then run the recipe through Dagster")
    p.add_argument("--recipe", default="default", help="the recipe --run_pipeline runs")


@command("ls-twitter-import", "Import an X (Twitter) archive: a native export zip or a Community Archive.")
@arguments(_twitter_args)
def ls_twitter_import(args: argparse.Namespace) -> int:
    from ls_pipeline.sources.twitter import TweetFilters
    from ls_pipeline.steps.x_archive import ArchiveSource, import_archive

    source = ArchiveSource(
        args.source,
        args.zip_path,
        args.username,
        args.archive_path,
        args.base_url,
        args.include_likes,
        args.include_notes,
    )
    filters = TweetFilters(
        args.year,
        args.lang,
        args.min_favorites,
        args.min_text_length,
        args.exclude_replies,
        args.exclude_retweets,
        args.top_n,
        args.sort,
    )
    meta = import_archive(api().data_dir(), args.dataset_id, source, filters)
    print(f"{meta['id']}: {meta['length']} rows")
    if args.run_pipeline:
        from ls_pipeline.runs.runner import run_in_dagster  # a Dagster run, in the UI's history like ls-run

        for kind, artifact_id in run_in_dagster(api().data_dir(), args.dataset_id, args.recipe).items():
            print(f"{kind}: {artifact_id}")
    return 0
