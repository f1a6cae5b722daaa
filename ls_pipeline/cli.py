"""The ls-* commands, with Latent Scope's names and argument order. Thin: parse, call the API, print the id.

A user mistake prints one line to stderr and exits 2; the id of what was made (or reused) goes to stdout.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ls_pipeline.errors import UserError

Main = Callable[[Sequence[str] | None], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command(prog: str, description: str) -> Callable[[Callable[[argparse.Namespace], int]], Main]:
    """Wrap a command body: build its parser, set up logging, turn UserError into one line and exit 2."""

    def wrap(body: Callable[[argparse.Namespace], int]) -> Main:
        @functools.wraps(body)
        def main(argv: Sequence[str] | None = None) -> int:
            parser = _Parser(prog=prog, description=description)
            body.arguments(parser)  # type: ignore[attr-defined]
            args = parser.parse_args(argv)
            logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
            try:
                return body(args)
            except UserError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                print(f"{prog}: interrupted; finished artifacts are kept, a rerun resumes", file=sys.stderr)
                return 130

        return main

    return wrap


def arguments(setup: Callable[[argparse.ArgumentParser], None]) -> Callable[[Any], Any]:
    def attach(body: Any) -> Any:
        body.arguments = setup
        return body

    return attach


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _api() -> Any:
    from ls_pipeline import api

    return api


# ---- commands ----------------------------------------------------------------------------------------------------


@command("ls-init", "Choose the data directory (written to ./.env) and optionally store API keys in its .env.")
@arguments(lambda p: (p.add_argument("data_dir"), p.add_argument("--openai_key"), p.add_argument("--mistral_key")))
def _init(args: argparse.Namespace) -> int:
    keys = {k: v for k, v in (("openai_key", args.openai_key), ("mistral_key", args.mistral_key)) if v}
    root = _api().init(args.data_dir, **keys)
    _api()._update_env_file(Path(".env"), {"LATENT_SCOPE_DATA": str(root)})
    print(root)
    return 0


def _ingest_args(p: argparse.ArgumentParser, path_required: bool = False) -> None:
    p.add_argument("dataset_id")
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
    from ls_pipeline.store.datadir import check_name

    folder = _api().data_dir().root / check_name(dataset)
    found = sorted(folder.glob("input.*")) if folder.is_dir() else []
    found = [p for p in found if p.name != "input.parquet"] or found
    if not found:
        raise UserError(f"no file given and no {folder.name}/input.csv in the data directory; pass a file path")
    return found[0]


@command("ls-ingest-csv", "Ingest a CSV file as a dataset.")
@arguments(functools.partial(_ingest_args, path_required=True))
def _ingest_csv(args: argparse.Namespace) -> int:
    return _ingest.__wrapped__(args)  # type: ignore[attr-defined]


@command("ls-list-models", "List embedding models (and labelers) that can be named in ls-embed and ls-label.")
@arguments(lambda p: None)
def _list_models(args: argparse.Namespace) -> int:
    from ls_pipeline.models.embedding import catalog

    print("embedding models:")
    for entry in catalog():
        print(
            f"  {entry['id']:45} {entry['dimensions']:>5}d  {'offline' if entry['offline'] else 'hub':8} "
            f"{entry['note']}"
        )
    print("labelers:\n  keywords                                      offline, class-based TF-IDF (default)")
    return 0


@command("ls-embed", "Embed a dataset's text column.")
@arguments(
    lambda p: (
        p.add_argument("dataset_id"),
        p.add_argument("text_column"),
        p.add_argument("model_id", nargs="?", default=None, help="Hugging Face id, local folder or catalog id"),
        p.add_argument("prefix", nargs="?", default=""),
        p.add_argument("--batch_size", type=_positive_int, default=64),
        p.add_argument("--quantize", choices=["none", "int8"], default="none", help="int8: ONNX Runtime, ~2-3x faster"),
    )
)
def _embed(args: argparse.Namespace) -> int:
    print(_api().embed(args.dataset_id, args.text_column, args.model_id, args.prefix, args.batch_size, args.quantize))
    return 0


@command("ls-umap", "Project an embedding to 2D with UMAP.")
@arguments(
    lambda p: (
        p.add_argument("dataset_id"),
        p.add_argument("embedding_id"),
        p.add_argument("neighbors", nargs="?", type=int, default=25),
        p.add_argument("min_dist", nargs="?", type=float, default=0.1),
        p.add_argument("--seed", type=int, default=42),
    )
)
def _umap(args: argparse.Namespace) -> int:
    print(_api().umap(args.dataset_id, args.embedding_id, args.neighbors, args.min_dist, args.seed))
    return 0


@command("ls-cluster", "Cluster a UMAP projection with HDBSCAN.")
@arguments(
    lambda p: (
        p.add_argument("dataset_id"),
        p.add_argument("umap_id"),
        p.add_argument("samples", nargs="?", type=int, default=15, help="min_cluster_size"),
        p.add_argument("min_samples", nargs="?", type=int, default=5),
        p.add_argument("--cluster_selection_epsilon", type=float, default=0.0),
        p.add_argument("--method", choices=["hdbscan", "fast_hdbscan"], default="hdbscan"),
    )
)
def _cluster(args: argparse.Namespace) -> int:
    print(
        _api().cluster(
            args.dataset_id, args.umap_id, args.samples, args.min_samples, args.cluster_selection_epsilon, args.method
        )
    )
    return 0


@command("ls-label", "Label a clustering's clusters (keywords offline by default).")
@arguments(
    lambda p: (
        p.add_argument("dataset_id"),
        p.add_argument("text_column"),
        p.add_argument("cluster_id"),
        p.add_argument("model_id", nargs="?", default="keywords"),
        p.add_argument("context", nargs="?", default=""),
    )
)
def _label(args: argparse.Namespace) -> int:
    print(_api().label(args.dataset_id, args.text_column, args.cluster_id, args.model_id, args.context))
    return 0


@command("ls-scope", "Save a scope: DATASET [EMBEDDING_ID UMAP_ID CLUSTER_ID] CLUSTER_LABELS_ID LABEL DESCRIPTION.")
@arguments(lambda p: (p.add_argument("dataset_id"), p.add_argument("ids_and_text", nargs="+", metavar="ARG")))
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


@command("ls-run", "Ingest a file if given one, then run every stage with a recipe (default: 'default').")
@arguments(
    lambda p: (
        p.add_argument("dataset_or_file"),
        p.add_argument("--recipe", default="default"),
        p.add_argument("--text_column"),
        p.add_argument("--name", help="dataset name for a file (default: its stem)"),
    )
)
def _run(args: argparse.Namespace) -> int:
    dataset = args.dataset_or_file
    if Path(dataset).suffix and (Path(dataset).exists() or "/" in dataset or "." in dataset):
        dataset = args.name or _name_from_file(Path(dataset))
        _api().ingest(dataset, args.dataset_or_file, text_column=args.text_column)
    for kind, artifact_id in _api().run(dataset, args.recipe).items():
        print(f"{kind}: {artifact_id}")
    return 0


def _name_from_file(path: Path) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-._") or "dataset"


@command("ls-serve", "Serve the data directory's scopes in the viewer.")
@arguments(
    lambda p: (
        p.add_argument("data_dir", nargs="?"),
        p.add_argument("--host", default="127.0.0.1"),
        p.add_argument("--port", type=int, default=5001),
    )
)
def _serve(args: argparse.Namespace) -> int:
    if args.data_dir:
        _api().init(args.data_dir)
    _api().serve(args.host, args.port)
    return 0


def _entry(main: Main) -> Callable[[], NoReturn]:
    return lambda: sys.exit(main(None))


init_main = _entry(_init)
ingest_main = _entry(_ingest)
ingest_csv_main = _entry(_ingest_csv)
list_models_main = _entry(_list_models)
embed_main = _entry(_embed)
umap_main = _entry(_umap)
cluster_main = _entry(_cluster)
label_main = _entry(_label)
scope_main = _entry(_scope)
run_main = _entry(_run)
serve_main = _entry(_serve)
