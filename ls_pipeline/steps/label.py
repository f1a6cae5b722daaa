"""Label through the data directory: keyword labels offline, or a chat model's, resumable from its journal."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.models.chat import ChatModel, ChatModels
from ls_pipeline.models.chat_runner import ChatSettings, Journal
from ls_pipeline.models.embedding import DEFAULT_MODEL, hub_id, load_embedder
from ls_pipeline.stages import cluster as cluster_stage
from ls_pipeline.stages import embed as embed_stage
from ls_pipeline.stages import label as label_stage
from ls_pipeline.stages.label import chat as label_chat
from ls_pipeline.stages.label import keyphrases
from ls_pipeline.steps.cluster import read_clusters, read_default_labels
from ls_pipeline.steps.embed import read_embeddings
from ls_pipeline.steps.ingest import read_texts
from ls_pipeline.steps.umap import read_umap
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import JOURNAL, LABELS, LEVELS, TABLE
from ls_pipeline.store.sidecars import ClusterSidecar, EmbeddingSidecar, params_record


def label(
    ds: Dataset,
    cluster_id: str,
    params: label_stage.LabelParams,
    chat: ChatSettings | None = None,
    models: ChatModels | None = None,
) -> Artifact:
    """Keyword labels (offline), or a chat model's, at the cluster level and `params.levels` levels above.
    `chat` says how to call the model (concurrency, retries, timeouts); it never changes the result. `models`
    supplies chat models (a Dagster resource or a test may pass its own)."""
    source: ClusterSidecar = ds.sidecar("cluster", cluster_id)
    # Latent Scope's clusterings name their projection only: the embedding is the projection's
    embedding_id = source.embedding_id or ds.sidecar("umap", source.umap_id).embedding_id
    settings, service = chat or ChatSettings(), models or ChatModels()
    text_column = params.text_column or ds.meta()["text_column"]
    params = dataclasses.replace(params, text_column=text_column)
    read_texts(ds, text_column)  # an unknown column fails here, before any model is called
    model = _chat_model(ds, params, service)
    fields = {**dataclasses.asdict(params), "chat_model": model.public() if model else None}
    if model is None:  # keyword labels only: chat labels keep their fingerprints (and their paid answers)
        fields["keyphrases"] = keyphrases.VERSION
    fp = fingerprint("label", label_stage.CODE_VERSION, fields, {cluster_id: source.fingerprint})

    def build(staging: Staging) -> dict[str, Any]:
        llm = None
        if model is not None:
            provider = service.open(model, ds.path.parent, settings.timeout_s)
            llm = label_chat.Chat(provider, Journal(staging.path(JOURNAL)), settings)
        texts, vectors = read_texts(ds, text_column), read_embeddings(ds, embedding_id)
        xy, assigned = read_umap(ds, source.umap_id), read_clusters(ds, cluster_id)
        cluster = assigned["cluster"].to_numpy()
        phrases = None if model is not None else _phrases(ds, embedding_id, texts, vectors, cluster)
        defaults = _default_labels(ds, source, xy, assigned)
        result = label_chat.label_all(texts, vectors, xy, cluster, defaults, params, llm, source.levels(), phrases)
        result.table.to_parquet(staging.path(TABLE), index=False)
        result.levels.to_parquet(staging.path(LEVELS), index=False)
        return {
            "cluster_id": cluster_id,
            "umap_id": source.umap_id,
            "embedding_id": embedding_id,
            **params_record(params),
            "dataset": ds.name,
            "inputs": {cluster_id: source.fingerprint},
            **result.record,
        }

    sdk = [] if model is None else ["mistralai"] if model.provider == "mistral" else ["openai"]
    return produce(
        ds, LABELS.name, fp, build, parent=cluster_id, packages=["scikit-learn", *sdk], resumable=model is not None
    )


def _phrases(
    ds: Dataset, embedding_id: str, texts: list[str], vectors: np.ndarray, cluster: np.ndarray
) -> label_chat.Phrases:
    """The local default model re-ranks the keyphrases, whatever model made the vectors (never a paid call): the
    clusters' mean vectors come from the vectors themselves when that model made them, else from its own vectors
    of each cluster's most central texts."""
    local = load_embedder(DEFAULT_MODEL)
    embedding: EmbeddingSidecar = ds.sidecar("embedding", embedding_id)
    same = hub_id(embedding.model_id) == DEFAULT_MODEL and embedding.quantize == "none"

    def embed(phrases: list[str]) -> np.ndarray:
        return embed_stage.embed_texts(phrases, local)

    if same and embedding.dimensions == local.dimensions:
        return label_chat.Phrases(embed, keyphrases.cluster_centres(vectors, cluster))
    return label_chat.Phrases(embed, keyphrases.centres_from_texts(texts, vectors, cluster, embed))


def _chat_model(ds: Dataset, params: label_stage.LabelParams, service: ChatModels) -> ChatModel | None:
    """The labeler's chat model (None for keywords); a missing key fails now, not after the keyword work."""
    if params.labeler == label_stage.KEYWORDS:
        return None
    model = service.resolve(params.labeler, ds.path.parent)
    service.api_key(model, ds.path.parent)
    return model


def _default_labels(ds: Dataset, source: ClusterSidecar, xy: np.ndarray, assigned: pd.DataFrame) -> pd.DataFrame:
    """The clustering's own labels table; for Latent Scope's (whose table lacks our counts and noise flags) the one
    our cluster stage would have written for the same assignment, computed, not written."""
    if not source.foreign:
        return read_default_labels(ds, source.id)
    raw = assigned["raw_cluster"] if "raw_cluster" in assigned else assigned["cluster"]
    return cluster_stage.summarize(xy, assigned["cluster"].to_numpy(), raw.to_numpy())


def read_labels(ds: Dataset, labels_id: str) -> pd.DataFrame:
    return read_stored_table(ds.file(LABELS, labels_id, TABLE))


def read_levels(ds: Dataset, labels_id: str) -> pd.DataFrame:
    """The topics above the clusters (empty for labels made before levels existed)."""
    path = ds.file(LABELS, labels_id, LEVELS)
    return read_stored_table(path) if path.is_file() else pd.DataFrame(columns=["level", "cluster", "label"])
