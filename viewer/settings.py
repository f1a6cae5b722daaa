"""The viewer's app mode and named limits (each with help text, as datasette does), read from the environment as
ls_pipeline/settings.py declares them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ls_pipeline import settings
from ls_pipeline.errors import UserError

MODES = settings.DECLARED["LATENT_SCOPE_APP_MODE"].choices
METADATA_TTL_ENV = "LATENT_SCOPE_STORE_METADATA_TTL_SEC"
DEFAULT_METADATA_TTL_S = settings.DECLARED[METADATA_TTL_ENV].default


def limit_name(setting: settings.Setting) -> str:
    """The name a limit goes by in the viewer, its messages and the docs: LATENT_SCOPE_MAX_K is max_k."""
    return setting.name.removeprefix(settings.LIMIT_PREFIX).lower()


def _replace(self: Any, **changes: int) -> Any:
    return dataclasses.replace(self, **changes)


# The viewer's limits, one field per limit declared in ls_pipeline/settings.py (name, default, range and help live
# there), so a new limit is declared once and every LATENT_SCOPE_<NAME> override and its docs follow.
Limits = dataclasses.make_dataclass(
    "Limits",
    [(limit_name(s), int, field(default=s.default)) for s in settings.VIEWER_LIMITS],
    frozen=True,
    namespace={"replace": _replace, "__doc__": "The viewer's limits; each default lives once, in the settings."},
)


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


def config_from_env(environ: Mapping[str, str] | None = None) -> AppConfig:
    """The app mode, the limits (LATENT_SCOPE_<LIMIT>) and the store's metadata TTL, from `environ` (default: this
    process's environment), each read and checked as ls_pipeline/settings.py declares it."""
    limits = {limit_name(s): settings.get(s.name, environ) for s in settings.VIEWER_LIMITS}
    return AppConfig(
        mode=settings.get("LATENT_SCOPE_APP_MODE", environ),
        public_dataset=settings.get("LATENT_SCOPE_PUBLIC_DATASET", environ),
        public_scope=settings.get("LATENT_SCOPE_PUBLIC_SCOPE", environ),
        limits=Limits(**limits),
        store_metadata_ttl_s=settings.get(METADATA_TTL_ENV, environ),
    )
