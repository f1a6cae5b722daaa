"""The commands of the pipeline's stages, in Latent Scope's names and argument order: ls-ingest, ls-embed, ls-umap,
ls-cluster, ls-label, ls-scope and their kin."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from ls_pipeline import params
from ls_pipeline.cli.command import DATASET_HELP, api, arguments, command, stage_arguments
from ls_pipeline.errors import UserError


def _ingest_args(p: argparse.ArgumentParser, path_required: bool = False) -> None:
    p.add_argument("dataset_id", help=DATASET_HELP)
    p.add_argument("path", nargs=None if path_required else "?", help="CSV, TSV, Parquet, JSON, JSONL or Excel file")
    p.add_argument("--text_column", help="the column to embed (default: guessed, 'text' if present)")


@command("ls-ingest", "Ingest a data file (or DATA/<dataset>/input.csv) as a dataset.")
@arguments(_ingest_args)
def ls_ingest(args: argparse.Namespace) -> int:
    path = args.path or _default_input(args.dataset_id)
    meta = api().ingest(args.dataset_id, path, text_column=args.text_column)
    print(f"{meta['id']}: {meta['length']} rows, text column {meta['text_column']!r}")
    return 0


def _default_input(dataset: str) -> Path:
    ds = api().data_dir().dataset(dataset, must_exist=False)
    found = ds.input_files()
    if not found:
        raise UserError(f"no file given and no {ds.name}/input.csv in the data directory; pass a file path")
    return found[0]


@command("ls-ingest-csv", "Ingest a CSV file as a dataset.")
@arguments(functools.partial(_ingest_args, path_required=True))
def ls_ingest_csv(args: argparse.Namespace) -> int:
    return ls_ingest.__wrapped__(args)  # type: ignore[attr-defined]


@command("ls-list-models", "List embedding models (and labelers) that can be named in ls-embed and ls-label.")
@arguments(lambda p: None)
def ls_list_models(args: argparse.Namespace) -> int:
    from ls_pipeline.models.listing import model_lines

    try:
        root = api().data_dir().root  # its _models.json and .env add models and keys
    except UserError:
        root = None
    print("\n".join(model_lines(root)))
    return 0


@command("ls-embed", "Embed a dataset's text column.")
@arguments(stage_arguments("embed", "dataset_id", "text_column", "model_id", "prefix", required=("text_column",)))
def ls_embed(args: argparse.Namespace) -> int:
    print(api().embed(args.dataset_id, **params.given(args)))
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
def ls_embed_importer(args: argparse.Namespace) -> int:
    print(api().import_embeddings(args.dataset_id, args.file, args.model_id, args.column))
    return 0


@command("ls-umap", "Project an embedding to 2D with UMAP.")
@arguments(stage_arguments("umap", "dataset_id", "embedding_id", "neighbors", "min_dist"))
def ls_umap(args: argparse.Namespace) -> int:
    print(api().umap(args.dataset_id, args.embedding_id, **params.given(args)))
    return 0


@command("ls-cluster", "Cluster a UMAP projection with HDBSCAN.")
@arguments(stage_arguments("cluster", "dataset_id", "umap_id", "samples", "min_samples"))
def ls_cluster(args: argparse.Namespace) -> int:
    print(api().cluster(args.dataset_id, args.umap_id, **params.given(args)))
    return 0


@command("ls-label", "Label a clustering's clusters (keywords offline by default).")
@arguments(
    stage_arguments(
        "label", "dataset_id", "text_column", "cluster_id", "model_id", "context", required=("text_column",)
    )
)
def ls_label(args: argparse.Namespace) -> int:
    print(api().label(args.dataset_id, cluster_id=args.cluster_id, **params.given(args)))
    return 0


@command("ls-scope", "Save a scope: DATASET [EMBEDDING_ID UMAP_ID CLUSTER_ID] CLUSTER_LABELS_ID LABEL DESCRIPTION.")
@arguments(
    lambda p: (
        p.add_argument("dataset_id", help=DATASET_HELP),
        p.add_argument("ids_and_text", nargs="+", metavar="ARG", help="the ids, the scope's label and description"),
    )
)
def ls_scope(args: argparse.Namespace) -> int:
    values = args.ids_and_text
    if len(values) not in (2, 3, 5, 6):
        raise UserError(
            "ls-scope takes DATASET CLUSTER_LABELS_ID LABEL [DESCRIPTION], or the Latent Scope form "
            "DATASET EMBEDDING_ID UMAP_ID CLUSTER_ID CLUSTER_LABELS_ID LABEL [DESCRIPTION]"
        )
    if len(values) >= 5:
        from ls_pipeline.steps import check_chain

        check_chain(api().data_dir().dataset(args.dataset_id), *values[:4])
        values = values[3:]
    print(api().scope(args.dataset_id, values[0], values[1], values[2] if len(values) > 2 else ""))
    return 0
