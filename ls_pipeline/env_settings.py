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
