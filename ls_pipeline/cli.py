"""The ls-* commands, with Latent Scope's names and argument order. Thin: parse, call the API, print the id.

A user mistake prints one line to stderr and exits 2; the id of what was made (or reused) goes to stdout.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ls_pipeline import params
from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import DATA_ENV, LOCAL_ENV
from ls_pipeline.store.location import is_remote, parse_root

Main = Callable[[Sequence[str] | None], int]
# Every ls-* command's parser by name, for the generated CLI reference (ls_pipeline/docs_gen.py)
PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {}
DATASET_HELP = params.ID_HELP["dataset_id"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command(prog: str, description: str) -> Callable[[Callable[[argparse.Namespace], int]], Main]:
    """Wrap a command body: build its parser, set up logging, turn UserError into one line and exit 2."""

    def wrap(body: Callable[[argparse.Namespace], int]) -> Main:
        def build_parser() -> argparse.ArgumentParser:
            parser = _Parser(prog=prog, description=description)
            body.arguments(parser)  # type: ignore[attr-defined]
            return parser

        @functools.wraps(body)
        def main(argv: Sequence[str] | None = None) -> int:
            parser = build_parser()
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # --help, or a usage error already printed on one line
                return int(exc.code or 0)
            _log_to_stderr()
            try:
                return body(args)
            except UserError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print(f"{prog}: interrupted; finished artifacts are kept, a rerun resumes", file=sys.stderr)
                return 130

        PARSERS[prog] = build_parser
        return main

    return wrap


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (a StreamHandler would keep the one it was born with)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def _log_to_stderr() -> None:
    logger = logging.getLogger("ls_pipeline")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())


def arguments(setup: Callable[[argparse.ArgumentParser], None]) -> Callable[[Any], Any]:
    def attach(body: Any) -> Any:
        body.arguments = setup
        return body

    return attach


def _api() -> Any:
    from ls_pipeline import api

    return api


# ---- commands ----------------------------------------------------------------------------------------------------


@command("ls-init", "Choose the data directory (written to ./.env) and optionally store API keys in its .env.")
@arguments(
    lambda p: (
        p.add_argument("data_dir", help="a folder (created if missing) or s3://bucket/prefix"),
        p.add_argument("--openai_key", help="stored in the data directory's .env (a local folder only)"),
        p.add_argument("--mistral_key", help="stored in the data directory's .env (a local folder only)"),
    )
)
def _init(args: argparse.Namespace) -> int:
    keys = {k: v for k, v in (("openai_key", args.openai_key), ("mistral_key", args.mistral_key)) if v}
    root = _api().init(args.data_dir, **keys)
    _api()._update_env_file(LOCAL_ENV, {DATA_ENV: str(root)})
    print(root)
    return 0


def _ingest_args(p: argparse.ArgumentParser, path_required: bool = False) -> None:
    p.add_argument("dataset_id", help=DATASET_HELP)
    p.add_argument("path", nargs=None if path_required else "?", help="CSV, TSV, Parquet, JSON, JSONL or Excel file")
    p.add_argument("--text_column", help="the column to embed (default: guessed, 'text' if present)")


@command("ls-ingest", "Ingest a data file (or DATA/<dataset>/input.csv) as a dataset.")
@arguments(_ingest_args)
def _ingest(args: argparse.Namespace) -> int:
    path = args.path or _default_input(args.dataset_id)
    meta = _api().ingest(args.dataset_id, path, text_column=args.text_column)
    print(f"{meta['id']}: {meta['length']} rows, text column {meta['text_column']!r}")
    return 0


def _default_input(dataset: str) -> Path:
    ds = _api().data_dir().dataset(dataset, must_exist=False)
    found = ds.input_files()
    if not found:
        raise UserError(f"no file given and no {ds.name}/input.csv in the data directory; pass a file path")
    return found[0]


@command("ls-ingest-csv", "Ingest a CSV file as a dataset.")
@arguments(functools.partial(_ingest_args, path_required=True))
def _ingest_csv(args: argparse.Namespace) -> int:
    return _ingest.__wrapped__(args)  # type: ignore[attr-defined]


@command("ls-list-models", "List embedding models (and labelers) that can be named in ls-embed and ls-label.")
@arguments(lambda p: None)
def _list_models(args: argparse.Namespace) -> int:
    from ls_pipeline.models.listing import model_lines

    try:
        root = _api().data_dir().root  # its _models.json and .env add models and keys
    except UserError:
        root = None
    print("\n".join(model_lines(root)))
    return 0


def _stage_arguments(
    stage: str, *order: str, required: tuple[str, ...] = ()
) -> Callable[[argparse.ArgumentParser], None]:
    """A stage's arguments, read from its params dataclass (params.add_arguments), imported only when the command
    runs so that another command's start stays fast."""

    def add(parser: argparse.ArgumentParser) -> None:
        module = importlib.import_module(f"ls_pipeline.stages.{stage}")
        params.add_arguments(parser, getattr(module, f"{stage.capitalize()}Params"), order, required)

    return add


@command("ls-embed", "Embed a dataset's text column.")
@arguments(_stage_arguments("embed", "dataset_id", "text_column", "model_id", "prefix", required=("text_column",)))
def _embed(args: argparse.Namespace) -> int:
    print(_api().embed(args.dataset_id, **params.given(args)))
    return 0


@command("ls-embed-importer", "Import vectors computed elsewhere as an embedding of a dataset.")
@arguments(
    lambda p: (
        p.add_argument("dataset_id", help=DATASET_HELP),
        p.add_argument(
            "file",
            nargs="?",
            default=None,
            help=".npy, .h5 or .parquet; omit it to read --column of the dataset itself",
        ),  # fmt: skip
        p.add_argument(
            "--model_id",
            default="imported",
            help="the model that made the vectors (search embeds queries with it when it can load here)",
        ),  # fmt: skip
        p.add_argument("--column", default=None, help="the list column (Parquet, the dataset) or HDF5 dataset"),
    )
)
def _embed_importer(args: argparse.Namespace) -> int:
    print(_api().import_embeddings(args.dataset_id, args.file, args.model_id, args.column))
    return 0


@command("ls-umap", "Project an embedding to 2D with UMAP.")
@arguments(_stage_arguments("umap", "dataset_id", "embedding_id", "neighbors", "min_dist"))
def _umap(args: argparse.Namespace) -> int:
    print(_api().umap(args.dataset_id, args.embedding_id, **params.given(args)))
    return 0


@command("ls-cluster", "Cluster a UMAP projection with HDBSCAN.")
@arguments(_stage_arguments("cluster", "dataset_id", "umap_id", "samples", "min_samples"))
def _cluster(args: argparse.Namespace) -> int:
    print(_api().cluster(args.dataset_id, args.umap_id, **params.given(args)))
    return 0


@command("ls-label", "Label a clustering's clusters (keywords offline by default).")
@arguments(
    _stage_arguments(
        "label", "dataset_id", "text_column", "cluster_id", "model_id", "context", required=("text_column",)
    )
)
def _label(args: argparse.Namespace) -> int:
    print(_api().label(args.dataset_id, cluster_id=args.cluster_id, **params.given(args)))
    return 0


@command("ls-scope", "Save a scope: DATASET [EMBEDDING_ID UMAP_ID CLUSTER_ID] CLUSTER_LABELS_ID LABEL DESCRIPTION.")
@arguments(
    lambda p: (
        p.add_argument("dataset_id", help=DATASET_HELP),
        p.add_argument("ids_and_text", nargs="+", metavar="ARG", help="the ids, the scope's label and description"),
    )
)
def _scope(args: argparse.Namespace) -> int:
    values = args.ids_and_text
    if len(values) not in (2, 3, 5, 6):
        raise UserError(
            "ls-scope takes DATASET CLUSTER_LABELS_ID LABEL [DESCRIPTION], or the Latent Scope form "
            "DATASET EMBEDDING_ID UMAP_ID CLUSTER_ID CLUSTER_LABELS_ID LABEL [DESCRIPTION]"
        )
    if len(values) >= 5:
        from ls_pipeline.steps import check_chain

        check_chain(_api().data_dir().dataset(args.dataset_id), *values[:4])
        values = values[3:]
    print(_api().scope(args.dataset_id, values[0], values[1], values[2] if len(values) > 2 else ""))
    return 0


@command("ls-duplicates", "Find near-duplicate rows: groups of rows at or above a cosine similarity threshold.")
@arguments(_stage_arguments("duplicates", "dataset_id", "embedding_id"))
def _duplicates(args: argparse.Namespace) -> int:
    print(_api().duplicates(args.dataset_id, args.embedding_id, **params.given(args)))
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
def _exclude(args: argparse.Namespace) -> int:
    print(_api().exclude(
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
def _run(args: argparse.Namespace) -> int:
    if args.stuck or args.clear_stuck:
        return _stuck_runs(args)
    if args.estimate:
        return _estimate(args)
    if not args.dataset_or_file:
        raise UserError("ls-run needs a dataset name or a data file (or --stuck / --clear-stuck)")
    dataset, source = args.dataset_or_file, None
    if _is_file_argument(dataset):
        source = Path(args.dataset_or_file)
        dataset = args.name or _name_from_file(source)
    if args.no_dagster:
        if source is not None:
            _api().ingest(dataset, source, text_column=args.text_column)
        ids = _api().run(dataset, args.recipe)
    else:
        from ls_pipeline.runs import reuse

        data = _api().data_dir()
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
    data = _api().data_dir()
    if _is_file_argument(args.dataset_or_file):
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

    print("\n".join(stuck_run_lines(_api().data_dir(), clear=args.clear_stuck)) or "no stuck runs")
    return 0


def _is_file_argument(text: str) -> bool:
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
def _recipe(args: argparse.Namespace) -> int:
    from ls_pipeline.recipe import recipe_names, save_recipe

    data = _api().data_dir()
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
def _twitter_import(args: argparse.Namespace) -> int:
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
    meta = import_archive(_api().data_dir(), args.dataset_id, source, filters)
    print(f"{meta['id']}: {meta['length']} rows")
    if args.run_pipeline:
        from ls_pipeline.runs.runner import run_in_dagster  # a Dagster run, in the UI's history like ls-run

        for kind, artifact_id in run_in_dagster(_api().data_dir(), args.dataset_id, args.recipe).items():
            print(f"{kind}: {artifact_id}")
    return 0


@command("ls-serve", "Serve the data directory's scopes in the viewer.")
@arguments(
    lambda p: (
        p.add_argument("data_dir", nargs="?", help="a folder or s3://bucket/prefix (default: the data directory)"),
        p.add_argument("--host", default="127.0.0.1", help="the address to listen on"),
        p.add_argument("--port", type=int, default=5001, help="the port to listen on"),
    )
)
def _serve(args: argparse.Namespace) -> int:
    if args.data_dir:
        root = parse_root(args.data_dir)
        if not is_remote(root) and not root.is_dir():  # serving must not create a folder from a typo
            raise UserError(f"data directory {args.data_dir!r} does not exist; give the folder `ls-init` made")
        _api().init(args.data_dir)
    _api().serve(args.host, args.port)
    return 0


def _entry(main: Main) -> Callable[[], NoReturn]:
    return lambda: sys.exit(main(None))


init_main = _entry(_init)
ingest_main = _entry(_ingest)
ingest_csv_main = _entry(_ingest_csv)
list_models_main = _entry(_list_models)
embed_importer_main = _entry(_embed_importer)
embed_main = _entry(_embed)
umap_main = _entry(_umap)
cluster_main = _entry(_cluster)
label_main = _entry(_label)
scope_main = _entry(_scope)
run_main = _entry(_run)
duplicates_main = _entry(_duplicates)
exclude_main = _entry(_exclude)
recipe_main = _entry(_recipe)
serve_main = _entry(_serve)
twitter_import_main = _entry(_twitter_import)
