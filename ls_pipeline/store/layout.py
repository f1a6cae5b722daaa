"""The data directory's names, declared once: every folder, id prefix, file suffix and special file.

Latent Scope 1.0 fixes most of these (embeddings/embedding-001.h5, clusters/cluster-001-labels-001.parquet,
scopes/scopes-001.json, tags/<tag>.indices); the underscore folders are ours and Latent Scope ignores them.
Nothing outside store/ spells one of these names: it asks a DataDir or a Dataset for the path.
"""

from __future__ import annotations

from dataclasses import dataclass

# One file role per suffix: what a stage stages and what a reader opens, named instead of spelled.
SIDECAR = ".json"
TABLE = ".parquet"
THUMBNAIL = ".png"
VECTORS = ".h5"
DEFAULT_LABELS = "-labels-default.parquet"  # a clustering's own labels table (Latent Scope's "default" labels)
LEVELS = "-levels.parquet"  # the topics above the clusters, from a labels artifact
JOURNAL = "-llm.jsonl"  # a chat labeler's answers, one a line, so a rerun resumes
CHUNKS = "-chunks.jsonl"  # an embedding made on a Dask cluster: each chunk's rows and worker, one a line
EXPORT = "-export.parquet"  # a scope's curated export (Latent Scope's scopes-NNN-export.parquet)
EXPORT_SIDECAR = "-export.json"  # what that export was made from


@dataclass(frozen=True)
class Kind:
    """One artifact kind: its folder, id prefix (labels hang off their clustering), files, and Dagster asset."""

    name: str
    folder: str
    prefix: str
    files: tuple[str, ...]  # what every artifact of the kind has (and its Dagster metadata lists)
    asset: str  # the Dagster asset that makes it (Latent Scope's plural folder name where tests and UI fix it)
    parent_key: str | None = None  # the sidecar key naming the artifact it was made from
    optional: tuple[str, ...] = ()  # files only some have (labels from before levels, keyword labels: no journal)

    def prefix_for(self, parent: str | None = None) -> str:
        return self.prefix.format(parent=parent)


EMBEDDING = Kind("embedding", "embeddings", "embedding", (VECTORS, SIDECAR), "embedding", optional=(CHUNKS,))
UMAP = Kind("umap", "umaps", "umap", (TABLE, SIDECAR, THUMBNAIL), "umap", "embedding_id")
CLUSTER = Kind("cluster", "clusters", "cluster", (TABLE, SIDECAR, THUMBNAIL, DEFAULT_LABELS), "clusters", "umap_id")
LABELS = Kind("labels", "clusters", "{parent}-labels", (TABLE, SIDECAR), "labels", "cluster_id", (LEVELS, JOURNAL))
SCOPE = Kind("scope", "scopes", "scopes", (SIDECAR, TABLE), "scope", "cluster_labels_id")
# Ours, beside Latent Scope's folders (which it ignores): near-duplicate groups of an embedding (ls_index, group),
# and the dataset's versions of its exclusion list (ls_index), the rows every stage after embedding leaves out.
DUPLICATES = Kind("duplicates", "duplicates", "duplicates", (TABLE, SIDECAR), "duplicates", "embedding_id")
EXCLUSIONS = Kind("exclusions", "exclusions", "exclusions", (TABLE, SIDECAR), "exclusions")

KINDS: dict[str, Kind] = {k.name: k for k in (EMBEDDING, UMAP, CLUSTER, LABELS, SCOPE, DUPLICATES, EXCLUSIONS)}
KIND_OF_ASSET: dict[str, str] = {k.asset: k.name for k in KINDS.values()}

# Inside a dataset folder
DELETED = "deleted"  # a scope's column of soft-removed rows (Latent Scope 1.0's name)
INPUT = "input.parquet"  # the rows, in ingest order: row position is ls_index
INPUT_GLOB = "input.*"  # a file the user left to be ingested (input.csv ...), Latent Scope's convention
META = "meta.json"
IMPORTS = "imports.json"  # the batches an upserting import merged, oldest first
TAGS = "tags"
TAG_SUFFIX = ".indices"
# Beside the .indices files: every tag edit, one JSON a line, append-only (what changed and when; a deleted tag's
# rows stay here). Not an .indices file, so never a tag, and Latent Scope ignores it.
TAG_HISTORY = "_history.jsonl"
SCOPE_INPUT = "-input.parquet"  # Latent Scope's copy of a scope's rows joined to its input (scopes-001-input.parquet)
# Latent Scope 1.0 keeps vectors in a LanceDB database inside the dataset: lancedb/emb-embedding-001.lance for an
# embedding (ls_index, vector) and lancedb/scopes-001.lance for a scope. Ids taken there are taken for us too.
LANCEDB = "lancedb"
LANCE_SUFFIX = ".lance"
LANCE_VERSIONS = "_versions"  # inside a table: one manifest per version, so its listing changes with every write
LANCE_TABLE_PREFIX = {"embedding": "emb-", "scope": ""}
LOCK = ".lock"
CLAIM = ".claim"  # on object storage, made create-only to take an artifact id before its files are uploaded
WORK_LOCKS = ".locks"

# Inside the data directory root
INBOX = "_inbox"
REJECTED = "_rejected"  # inside the inbox: files refused, and notes on imports that failed
NOTE_SUFFIX = ".error.txt"
IMPORT_SECRETS = "_import_secrets"  # one NAME.sha256 per hosted import: the hash of its uploader's secret
SECRET_SUFFIX = ".sha256"
RECIPES = "_recipes"
RECIPE_SUFFIX = ".yaml"
SOURCES = "_sources.yaml"
PRICES = "_prices.yaml"  # a team's own prices per model id, over the shipped table (models/prices.json)
CUSTOM_MODELS = ("_models.json", "_models.yaml", "_models.yml")
IMPORTED = "imported"  # the revision recorded for vectors made elsewhere: no model here may embed queries for them
KEYS_FILE = ".env"  # API keys, beside the data, never in a sidecar
DAGSTER_HOME = "_dagster"
DAGSTER_CONFIG = "dagster.yaml"
KNN_CACHE = ("_cache", "knn")
KNN_SUFFIX = ".npz"
VECTOR_CACHE = ("_cache", "embeddings")
VECTOR_SHARDS = "shard-*.h5"

# Inside an embedding's HDF5 file
H5_VECTORS = "embeddings"
H5_DONE = "done"
