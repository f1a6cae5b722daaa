"""Every environment variable the project reads, declared once: name, type, default, range and help.

Code reads a setting with `get(NAME)` when it needs it (a test or a notebook may change the environment between two
reads), and this module is the only one that reads os.environ: a bad value is one line naming the variable and what it
takes. Nothing here writes the environment; a child process gets an explicit mapping (`child_environment`).
`python -m ls_pipeline.docs_gen` writes docs/reference/configuration.md from SETTINGS.

Prefixes: LATENT_SCOPE_* configure the data directory and the viewer, as Latent Scope's own variables do; LS_* configure
how and where this machine computes (caches, workers, Dagster) and the scripts. Variables of other tools (Dagster,
Hugging Face, botocore, the model providers) keep their own names and are declared here with the tool that owns them.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ls_pipeline.errors import UserError

log = logging.getLogger(__name__)

KINDS = ("text", "secret", "path", "int", "number", "seconds", "bool", "choice")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # one of KINDS: how the value is read and checked
    default: Any
    help: str
    group: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    owner: str = ""  # the tool that defines the variable, when it is not ours
    read_by: str = ""  # who reads it, when no Python of ours does (a script, a library, a config file)
    replaced_by: str = ""  # a deprecated name: the setting that says the same thing now

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {KINDS}")


DATA, CACHES, MODELS, DAGSTER, WORKERS, STORAGE, VIEWER, LIMITS, SCRIPTS = (
    "The data directory",
    "Caches on this machine",
    "Models and keys",
    "Dagster",
    "Workers",
    "Object storage",
    "The viewer",
    "The viewer's limits",
    "The scripts",
)


def _limit(name: str, default: int, help: str, high: float | None = None) -> Setting:
    return Setting(f"LATENT_SCOPE_{name.upper()}", "int", default, help, LIMITS, low=1, high=high)


# One setting on a line or two reads better as a table than one argument a line.
# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("LATENT_SCOPE_DATA", "text", None, "the data directory: a folder or s3://bucket/prefix; unset: the value "
            "`ls-init` wrote to ./.env", DATA),
    Setting("LATENT_SCOPE_LEASE_SEC", "seconds", 60.0, "how long a dead writer may hold a dataset on object storage "
            "before another may take it over", DATA, low=1, high=3600),
    Setting("LATENT_SCOPE_SCRATCH", "path", "~/.cache/latent-scope/scratch", "where files for object storage are built "
            "before their upload (and the Dagster instance of a data directory on object storage)", DATA),
    Setting("LS_CACHE", "path", "~/.cache/ls-pipeline", "where this machine keeps what it builds once: numba's "
            "compiled UMAP code (numba/) and the fused ONNX exports of local models (models/)", CACHES),
    Setting("LS_NUMBA_CACHE", "path", None, "numba's compiled code folder", CACHES, replaced_by="LS_CACHE"),
    Setting("LS_MODEL_CACHE", "path", None, "the ONNX exports folder", CACHES, replaced_by="LS_CACHE"),
    Setting("NUMBA_CACHE_DIR", "path", None, "numba's own cache folder; when set it wins over LS_CACHE", CACHES,
            owner="numba", read_by="numba"),
    Setting("LS_PERTURB", "number", 0.0, "a test aid: the scale of seeded noise added to every vector a local model "
            "makes here, standing in for another CPU's last bits (docs/reproducibility.md); 0: none", MODELS, low=0,
            high=0.01),
    Setting("HF_HUB_OFFLINE", "bool", False, "load models only from local folders and the Hugging Face cache", MODELS,
            owner="Hugging Face"),
    Setting("OPENAI_API_KEY", "secret", None, "OpenAI embeddings and chat labels; unset: the data directory's .env",
            MODELS, owner="OpenAI"),
    Setting("MISTRAL_API_KEY", "secret", None, "Mistral embeddings and chat labels; unset: the data directory's .env",
            MODELS, owner="Mistral"),
    Setting("OPENAI_BASE_URL", "text", None, "an OpenAI-compatible server for the OpenAI SDK", MODELS, owner="OpenAI",
            read_by="the OpenAI SDK"),
    Setting("LATENT_SCOPE_COMMUNITY_ARCHIVE_URL", "text", "https://fabxmporizzqflnftavs.supabase.co/storage/v1/object/"
            "public/archives", "where `ls-twitter-import --source community` fetches archives (--base_url wins)",
            MODELS),
    Setting("DAGSTER_HOME", "path", None, "the Dagster instance; unset: the data directory's _dagster/ (on object "
            "storage: in LATENT_SCOPE_SCRATCH)", DAGSTER, owner="Dagster"),
    Setting("LS_REINGEST_CRON", "text", "0 * * * *", "when the schedule re-ingests _sources.yaml (cron)", DAGSTER),
    Setting("LATENT_SCOPE_JOB_TIMEOUT_SEC", "int", None, "the longest a run started by a sensor or by automation may "
            "take (Dagster's dagster/max_runtime); unset: no limit", DAGSTER, low=1),
    Setting("LATENT_SCOPE_VIEWER_URL", "text", None, "the viewer's address, for the `viewer` link in a scope's Dagster "
            "metadata, e.g. http://127.0.0.1:5001", DAGSTER),
    Setting("LS_EXECUTOR", "choice", "in_process", "where a run's Dagster steps run: in its process, or on Celery "
            "workers", WORKERS, choices=("in_process", "celery")),
    Setting("LS_CELERY_BROKER", "secret", None, "the Celery broker URL (required with celery), e.g. "
            "redis://127.0.0.1:6379/0", WORKERS),
    Setting("LS_CELERY_BACKEND", "secret", None, "where workers put Dagster step results; unset: the broker", WORKERS),
    Setting("LS_POSTGRES_URL", "secret", None, "the shared Dagster instance's database (required with celery)",
            WORKERS, read_by="ls_pipeline/runs/dagster-postgres.yaml"),
    Setting("LS_CELERY_NODE_TIMEOUT_SEC", "seconds", 30.0, "how long a worker node may stay silent while running a "
            "Dagster step before the step fails", WORKERS, low=2, high=3600),
    Setting("LS_DASK_ADDRESS", "text", None, "tcp://HOST:PORT of a Dask scheduler: the embedding spreads over its "
            "workers; unset: it embeds in the step's process", WORKERS),
    Setting("LS_DASK_CHUNK_ROWS", "int", 256, "texts per Dask chunk", WORKERS, low=1),
    Setting("LS_DASK_RESOURCES", "text", "", "worker resources each chunk needs, e.g. GPU=1 or GPU=1,MEMORY=8e9",
            WORKERS),
    Setting("AWS_ENDPOINT_URL", "text", None, "any S3-compatible endpoint; unset: AWS", STORAGE, owner="botocore"),
    Setting("AWS_ACCESS_KEY_ID", "secret", None, "credentials (with AWS_SECRET_ACCESS_KEY and AWS_REGION)", STORAGE,
            owner="botocore", read_by="botocore"),
    Setting("LATENT_SCOPE_APP_MODE", "choice", "studio", "studio, hosted or single_profile (see the viewer's modes)",
            VIEWER, choices=("studio", "hosted", "single_profile")),
    Setting("LATENT_SCOPE_PUBLIC_DATASET", "text", None, "the dataset single_profile serves", VIEWER),
    Setting("LATENT_SCOPE_PUBLIC_SCOPE", "text", None, "the scope single_profile serves", VIEWER),
    Setting("LATENT_SCOPE_STORE_METADATA_TTL_SEC", "seconds", 2.0, "how long the viewer keeps an object store's "
            "answers about files (0: ask every time)", VIEWER, low=0, high=60),
    Setting("LATENT_SCOPE_VIEWER_STATIC", "path", None, "a frontend built elsewhere; unset: viewer/static/", VIEWER),
    _limit("default_page_size", 50, "rows per page when a request gives no limit"),
    _limit("max_page_size", 500, "largest limit a rows request may ask for"),
    _limit("default_k", 100, "nearest rows a semantic filter (q= on rows, facets, export) keeps when it gives no k"),
    _limit("default_search_k", 20, "results a search or neighbors request returns when it gives no k"),
    _limit("max_k", 1000, "largest k (nearest neighbours) a search or semantic filter may ask for"),
    _limit("sql_time_limit_ms", 5000, "a DuckDB query running longer than this is interrupted (400 to the client)"),
    _limit("max_selection", 10000, "most ls_index values an explicit selection may name"),
    _limit("max_where_conditions", 50, "most conditions one where= filter may combine"),
    _limit("max_in_values", 10000, "most values one `in` condition of a where= filter may list"),
    _limit("max_integer", 2**62, "largest offset, cluster id or ls_index a request may give", high=2**63 - 1),
    _limit("max_facet_columns", 12, "most columns one facets request may chart"),
    _limit("max_facet_buckets", 200, "largest limit (category values) and bins (histogram bars) of a facets request"),
    _limit("facet_time_limit_ms", 3000, "a facet's query (a regex filter's too) running longer is interrupted (400)"),
    _limit("max_color_categories", 1000, "most distinct values a categorical color_by column may have"),
    _limit("max_query_chars", 1000, "longest text or semantic query accepted"),
    _limit("max_cached_scopes", 4, "scopes whose joined rows stay in DuckDB memory (least recently used dropped)"),
    _limit("max_upload_mb", 1024, "largest X archive or minimized tweet JSON a hosted-mode import may upload (MB)"),
    _limit("vector_cache_mb", 2048, "local disk kept for copies of embedding files on object storage (MB)"),
    Setting("LS_PORT", "int", 5001, "the viewer's port", SCRIPTS, low=1, high=65535, read_by="scripts/demo.sh"),
    Setting("LS_DAGSTER_HOST", "text", "127.0.0.1", "where scripts/dagster.sh serves the Dagster UI", SCRIPTS,
            read_by="scripts/dagster.sh"),
    Setting("LS_DAGSTER_PORT", "int", 3000, "the Dagster UI's port", SCRIPTS, low=1, high=65535,
            read_by="scripts/dagster.sh, scripts/demo.sh"),
    Setting("LS_DEMO_FILE", "path", None, "a data file of your own for the demo; unset: the shipped Debian rows",
            SCRIPTS, read_by="scripts/demo.sh"),
    Setting("LS_SKIP_SETUP", "bool", False, "1: the demo skips scripts/setup.sh", SCRIPTS, read_by="scripts/demo.sh"),
    Setting("LS_SKIP_APT", "bool", False, "1: install no Debian packages (the demo sets it)", SCRIPTS,
            read_by="scripts/setup.sh"),
    Setting("LS_UNLOCKED", "bool", False, "1: the newest versions the ranges allow instead of requirements.lock",
            SCRIPTS, read_by="scripts/setup.sh"),
    Setting("LS_VENV", "path", ".venv", "the virtual environment scripts/dagster.sh runs Dagster from", SCRIPTS,
            read_by="scripts/dagster.sh"),
)
# fmt: on
DECLARED: dict[str, Setting] = {s.name: s for s in SETTINGS}
LIMIT_PREFIX = "LATENT_SCOPE_"
VIEWER_LIMITS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.group == LIMITS)
_noticed: set[str] = set()  # deprecated names already reported in this process


def get(name: str, env: Mapping[str, str] | None = None) -> Any:
    """The value of setting `name` in `env` (default: this process's environment), checked; its default when unset
    or blank. A deprecated name that is set still works, with a one-line notice."""
    setting = DECLARED[name]
    raw = (os.environ if env is None else env).get(name, "").strip()
    if raw and setting.replaced_by and name not in _noticed:
        _noticed.add(name)
        replacement = DECLARED[setting.replaced_by]
        log.warning("%s is deprecated: set %s instead (%s)", name, replacement.name, replacement.help)
    if not raw:
        return _default(setting)
    return parse(setting, raw)


def named_secret(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A key whose variable a model catalog entry names (`api_key_env`): read, never shown."""
    return (os.environ if env is None else env).get(name) or None


def child_environment(**overrides: str) -> dict[str, str]:
    """This process's environment with `overrides`, for a child process: the parent's own stays as it is."""
    return {**os.environ, **overrides}


def _default(setting: Setting) -> Any:
    if setting.kind == "path" and setting.default is not None:
        return Path(setting.default).expanduser()
    return setting.default


def parse(setting: Setting, raw: str) -> Any:
    """`raw` read as the setting's kind, within its range; UserError naming the variable and what it takes."""
    if setting.kind in ("text", "secret"):
        return raw
    if setting.kind == "path":
        return Path(raw).expanduser()
    if setting.kind == "bool":
        if raw.lower() not in TRUE + FALSE:
            raise UserError(f"{setting.name}={raw!r} is not 1 or 0 (true or false)")
        return raw.lower() in TRUE
    if setting.kind == "choice":
        if raw.lower() not in setting.choices:
            raise UserError(f"{setting.name} must be one of {', '.join(setting.choices)}, got {raw!r}")
        return raw.lower()
    return _number(setting, raw)


def _number(setting: Setting, raw: str) -> float | int:
    try:
        value: float | int = int(raw) if setting.kind == "int" else float(raw)
    except ValueError:
        value = math.nan
    low = -math.inf if setting.low is None else setting.low
    high = math.inf if setting.high is None else setting.high
    if not low <= value <= high:  # NaN fails this too
        what = {"seconds": "a number of seconds", "int": "an integer"}.get(setting.kind, "a number")
        raise UserError(f"{setting.name}={raw!r} is not {what} {describe_range(setting)}".rstrip())
    return value


def describe_range(setting: Setting) -> str:
    if setting.low is not None and setting.high is not None:
        return f"from {setting.low:g} to {setting.high:g}"
    if setting.low is not None:
        return f"of at least {setting.low:g}"
    return ""
