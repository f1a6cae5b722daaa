"""Settings read from environment variables, checked once where they are read, so a bad value is a one-line error."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ls_pipeline.errors import UserError


def seconds_setting(name: str, default: float, low: float, high: float, env: Mapping[str, str] | None = None) -> float:
    """The number of seconds in `name` (unset or blank: `default`), which must lie in [low, high]."""
    raw = (os.environ if env is None else env).get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise UserError(f"{name}={raw!r} is not a number of seconds from {low:g} to {high:g}")
    return value


PERTURB_ENV = "LS_PERTURB"
MAX_PERTURB = 0.01


def perturb_scale(env: Mapping[str, str] | None = None) -> float:
    """LS_PERTURB, a test aid (docs/reproducibility.md): the standard deviation of the seeded noise added to each
    component of every embedding vector we make, standing in for another CPU's last bits; unset or blank: 0 (none)."""
    raw = (os.environ if env is None else env).get(PERTURB_ENV, "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_PERTURB:
        raise UserError(f"{PERTURB_ENV}={raw!r} is not a noise scale from 0 to {MAX_PERTURB:g} (e.g. 1e-5); unset it")
    return value
