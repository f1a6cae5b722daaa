"""ls-run and ls-recipe: every stage with a recipe, as a Dagster run (or without one), and the recipes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ls_pipeline.cli.command import api, arguments, command
from ls_pipeline.errors import UserError


@command("ls-run", "Ingest a file if given one, then run every stage with a recipe (default: 'default').")
@arguments(
    lambda p: (
        p.add_argument("dataset_or_file", nargs="?", help="a dataset's name, or a data file to ingest first"),
        p.add_argument("--recipe", default="default", help="a recipe's name or a YAML file"),
        p.add_argument("--text_column", help="for a file: the column to embed (default: guessed)"),
        p.add_argument("--name", help="dataset name for a file (default: its stem)"),
        p.add_argument(
            "--no-dagster", action="store_true", help="run the steps directly, not as a Dagster run in DAGSTER_HOME"
        ),
        p.add_argument("--stuck", action="store_true", help="list runs in progress whose process is gone; run nothing"),
        p.add_argument("--clear-stuck", action="store_true", help="mark those ended, free their slots; run nothing"),
        p.add_argument(
            "--estimate", action="store_true", help="say what the paid steps would send and cost; run nothing"
        ),
    )
)
def ls_run(args: argparse.Namespace) -> int:
    if args.stuck or args.clear_stuck:
        return _stuck_runs(args)
    if args.estimate:
        return _estimate(args)
    if not args.dataset_or_file:
        raise UserError("ls-run needs a dataset name or a data file (or --stuck / --clear-stuck)")
    dataset, source = args.dataset_or_file, None
    if is_file_argument(dataset):
        source = Path(args.dataset_or_file)
        dataset = args.name or _name_from_file(source)
    if args.no_dagster:
        if source is not None:
            api().ingest(dataset, source, text_column=args.text_column)
        ids = api().run(dataset, args.recipe)
    else:
        from ls_pipeline.runs import reuse

        data = api().data_dir()
        ids = None if source is not None else reuse.recorded_ids(data, dataset, args.recipe)
        if ids is None:
            from ls_pipeline.runs.runner import run_in_dagster

            ids = run_in_dagster(data, dataset, args.recipe, source, args.text_column)
    for kind, artifact_id in ids.items():
        print(f"{kind}: {artifact_id}")
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from ls_pipeline.recipe import load_recipe
    from ls_pipeline.steps.estimate import estimate
    from ls_pipeline.steps.ingest import read_texts

    if not args.dataset_or_file:
        raise UserError("ls-run --estimate needs a dataset name or a data file")
    data = api().data_dir()
    if is_file_argument(args.dataset_or_file):
        from ls_pipeline.sources.registry import read_rows
        from ls_pipeline.stages.ingest import IngestParams, prepare

        rows = read_rows(Path(args.dataset_or_file), args.text_column)
        frame, column, _ = prepare(rows.frame, IngestParams(text_column=args.text_column or rows.text_column))
        texts = frame[column].fillna("").astype(str).tolist()
    else:
        texts = read_texts(data.dataset(args.dataset_or_file))
    recipe = load_recipe(args.recipe, data)
    paid = estimate(data, texts, recipe.embed, recipe.cluster, recipe.label)
    print("\n".join(step.line() for step in paid) or f"recipe {recipe.name!r} runs offline: nothing is sent or paid")
    return 0


def _stuck_runs(args: argparse.Namespace) -> int:
    if args.dataset_or_file:
        raise UserError("--stuck and --clear-stuck take no dataset: they look at every run of the instance")
    from ls_pipeline.runs.runner import stuck_run_lines

    print("\n".join(stuck_run_lines(api().data_dir(), clear=args.clear_stuck)) or "no stuck runs")
    return 0


def is_file_argument(text: str) -> bool:
    """A data file rather than a dataset name. Dataset names may hold dots (news.v2), so a dot is no sign: a file
    exists, has a folder in its path, or ends like a file ls-ingest reads."""
    from ls_pipeline.sources.registry import READABLE_SUFFIXES

    path = Path(text)
    return bool(path.suffix) and (path.exists() or "/" in text or path.suffix.lower() in READABLE_SUFFIXES)


def _name_from_file(path: Path) -> str:
    from ls_pipeline.sources.registry import dataset_name

    return dataset_name(path)


@command("ls-recipe", "Register a recipe file under a name (ls-recipe add NAME FILE), or list them (ls-recipe list).")
@arguments(
    lambda p: (
        p.add_argument("action", choices=["add", "list"]),
        p.add_argument("name", nargs="?", help="the recipe's name (add)"),
        p.add_argument("file", nargs="?", help="YAML with embed/umap/cluster/label/checks sections"),
        p.add_argument("--replace", action="store_true", help="overwrite a recipe already registered under NAME"),
    )
)
def ls_recipe(args: argparse.Namespace) -> int:
    from ls_pipeline.recipe import recipe_names, save_recipe

    data = api().data_dir()
    if args.action == "list":
        print("\n".join(recipe_names(data)))
        return 0
    if not args.name or not args.file:
        raise UserError("ls-recipe add needs a NAME and a FILE: ls-recipe add NAME FILE")
    path = save_recipe(data, args.name, Path(args.file), replace=args.replace)
    from ls_pipeline.runs.runner import register_recipe

    register_recipe(data, args.name)
    print(path)
    return 0
