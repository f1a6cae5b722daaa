"""Named limits of the viewer, each with help text (as datasette does), and the app mode from the environment."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from ls_pipeline.env_settings import seconds_setting
from ls_pipeline.errors import UserError

MODES = ("studio", "hosted", "single_profile")
# How long the answers to an object store's metadata questions are kept (ls_pipeline/store/metadata_cache.py): a
# file another process writes is seen at most this much later. 0 asks the store every time; a local folder never
# keeps any.
METADATA_TTL_ENV = "LATENT_SCOPE_STORE_METADATA_TTL_SEC"
DEFAULT_METADATA_TTL_S = 2.0


@dataclass(frozen=True)
class Setting:
    name: str
    default: int
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("default_page_size", 50, "rows per page when a request gives no limit"),
    Setting("max_page_size", 500, "largest limit a rows request may ask for"),
    Setting("default_k", 100, "nearest neighbours a search or semantic filter returns when it gives no k"),
    Setting("max_k", 1000, "largest k (nearest neighbours) a search or semantic filter may ask for"),
    Setting("sql_time_limit_ms", 5000, "a DuckDB query running longer than this is interrupted (400 to the client)"),
    Setting("max_selection", 10000, "most ls_index values an explicit selection may name"),
    Setting("max_where_conditions", 50, "most conditions one where= filter may combine"),
    Setting("max_in_values", 10000, "most values one `in` condition of a where= filter may list"),
    Setting("max_integer", 2**62, "largest offset, cluster id or ls_index a request may give (DuckDB BIGINT is 2**63)"),
    Setting("max_facet_columns", 12, "most columns one facets request may chart"),
    Setting("max_facet_buckets", 200, "largest limit (category values) and bins (histogram bars) of a facets request"),
    Setting("facet_time_limit_ms", 3000, "a facet's query (a regex filter's too) running longer is interrupted (400)"),
    Setting("max_color_categories", 1000, "most distinct values a categorical color_by column may have"),
    Setting("max_query_chars", 1000, "longest text or semantic query accepted"),
    Setting("max_cached_scopes", 4, "scopes whose joined rows stay in DuckDB memory (least recently used dropped)"),
    Setting("max_upload_mb", 1024, "largest X archive or minimized tweet JSON a hosted-mode import may upload (MB)"),
    Setting(
        "vector_cache_mb",
        2048,
        "local disk kept for copies of embedding files on object storage (MB, least recently searched dropped)",
    ),
)


_DEFAULT = {s.name: s.default for s in SETTINGS}


@dataclass(frozen=True)
class Limits:
    """The settings' values; each default lives once, in SETTINGS."""

    default_page_size: int = _DEFAULT["default_page_size"]
    max_page_size: int = _DEFAULT["max_page_size"]
    default_k: int = _DEFAULT["default_k"]
    max_k: int = _DEFAULT["max_k"]
    sql_time_limit_ms: int = _DEFAULT["sql_time_limit_ms"]
    max_selection: int = _DEFAULT["max_selection"]
    max_where_conditions: int = _DEFAULT["max_where_conditions"]
    max_in_values: int = _DEFAULT["max_in_values"]
    max_integer: int = _DEFAULT["max_integer"]
    max_facet_columns: int = _DEFAULT["max_facet_columns"]
    max_facet_buckets: int = _DEFAULT["max_facet_buckets"]
    facet_time_limit_ms: int = _DEFAULT["facet_time_limit_ms"]
    max_color_categories: int = _DEFAULT["max_color_categories"]
    max_query_chars: int = _DEFAULT["max_query_chars"]
    max_cached_scopes: int = _DEFAULT["max_cached_scopes"]
    max_upload_mb: int = _DEFAULT["max_upload_mb"]
    vector_cache_mb: int = _DEFAULT["vector_cache_mb"]

    def replace(self, **changes: int) -> Limits:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class AppConfig:
    mode: str = "studio"
    public_dataset: str | None = None
    public_scope: str | None = None
    limits: Limits = field(default_factory=Limits)
    store_metadata_ttl_s: float = DEFAULT_METADATA_TTL_S

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"unknown LATENT_SCOPE_APP_MODE {self.mode!r}: use one of {', '.join(MODES)}")
        if self.mode == "single_profile" and not (self.public_dataset and self.public_scope):
            raise UserError(
                "single_profile mode needs LATENT_SCOPE_PUBLIC_DATASET and LATENT_SCOPE_PUBLIC_SCOPE "
                "(e.g. LATENT_SCOPE_PUBLIC_DATASET=mydata LATENT_SCOPE_PUBLIC_SCOPE=scopes-001)"
            )

    @property
    def single(self) -> bool:
        return self.mode == "single_profile"


def config_from_env(environ: dict[str, str] | None = None) -> AppConfig:
    """The app mode and limits: LATENT_SCOPE_APP_MODE, LATENT_SCOPE_PUBLIC_*, LATENT_SCOPE_<SETTING> overrides and
    LATENT_SCOPE_STORE_METADATA_TTL_SEC."""
    env = dict(os.environ if environ is None else environ)
    overrides = {}
    for setting in SETTINGS:
        raw = env.get(f"LATENT_SCOPE_{setting.name.upper()}")
        if raw is not None:
            try:
                overrides[setting.name] = int(raw)
            except ValueError as exc:
                raise UserError(f"LATENT_SCOPE_{setting.name.upper()} must be an integer, got {raw!r}") from exc
            if overrides[setting.name] < 1:
                raise UserError(f"LATENT_SCOPE_{setting.name.upper()} must be at least 1")
    mode = env.get("LATENT_SCOPE_APP_MODE", "studio").strip() or "studio"
    return AppConfig(
        mode=mode,
        public_dataset=env.get("LATENT_SCOPE_PUBLIC_DATASET") or None,
        public_scope=env.get("LATENT_SCOPE_PUBLIC_SCOPE") or None,
        limits=Limits(**overrides),
        store_metadata_ttl_s=seconds_setting(METADATA_TTL_ENV, DEFAULT_METADATA_TTL_S, 0, 60, env),
    )
