"""Calls to paid remote APIs (chat and embedding providers): keys, errors on one line, and retries.

Keys come from the environment, else the data directory's .env; they go to the SDK and nowhere else (not logged,
not in sidecars or errors: `redact` takes them out of whatever a server echoes back).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ls_pipeline import settings
from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import DataDir, dotenv_value

log = logging.getLogger(__name__)
T = TypeVar("T")


class ProviderError(Exception):
    """A failed call. `transient` ones (429, 5xx, timeouts, dropped connections) are worth another try."""

    def __init__(self, detail: str, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.transient = transient
        self.retry_after = retry_after


def custom_models(data_root: Path | None, kind: str) -> list[tuple[str, Any]]:
    """(file name, entry) for the custom models of one kind ("chat" or "embedding") in DATA/_models.json or .yaml:
    a list whose entries say `"kind"` (chat when absent), or a mapping with a `chat` and an `embedding` list."""
    found: list[tuple[str, Any]] = []
    for path in DataDir(data_root).custom_model_files() if data_root is not None else ():
        name = path.name
        if not path.is_file():
            continue
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML reads JSON too
        except yaml.YAMLError as exc:
            raise UserError(f"{name} in the data directory is not valid JSON/YAML: {str(exc).splitlines()[0]}") from exc
        if isinstance(raw, dict):
            items = raw.get(kind, [])
        else:
            items = [i for i in raw or [] if not isinstance(i, dict) or i.get("kind", "chat") == kind]
        if not isinstance(items, list):
            raise UserError(f"{name} must hold a list of models (or a mapping with 'chat' and 'embedding' lists)")
        found += [(name, item) for item in items]
    return found


def key_value(env: str | None, data_root: Path | None) -> str | None:
    """The value of `env` from the environment, else from the data directory's keys file (.env)."""
    if not env:
        return None
    return settings.named_secret(env) or (dotenv_value(DataDir(data_root).keys_file, env) if data_root else None)


def redact(text: str, secret: str) -> str:
    """Error text from an SDK or server, on one line, without the key (servers sometimes echo headers)."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return re.sub(r"\s+", " ", text).strip()[:300]


def status_error(status: int, message: str, headers: Any, key: str) -> ProviderError:
    transient = status in (408, 409, 429) or status >= 500
    retry_after = None
    try:
        retry_after = float(headers.get("retry-after")) if headers and headers.get("retry-after") else None
    except ValueError:
        pass
    hint = {401: " (check the API key)", 403: " (the key may lack access)", 404: " (check the model name)"}
    return ProviderError(f"HTTP {status}{hint.get(status, '')}: {redact(message, key)}", transient, retry_after)


def call_with_retries(
    call: Callable[[], T],
    name: str,
    attempts: int,
    backoff_s: float,
    max_backoff_s: float,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """`call()`, tried again on transient errors with exponential backoff and jitter, waiting at least what a
    Retry-After header asked; after `attempts` tries the last error is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ProviderError as exc:
            if not exc.transient or attempt == attempts:
                raise
            delay = min(max_backoff_s, backoff_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            if exc.retry_after is not None:
                delay = min(max_backoff_s, max(delay, exc.retry_after))
            log.info("%s: %s; try %d of %d in %.1fs", name, exc, attempt + 1, attempts, delay)
            if on_retry is not None:
                on_retry()
            time.sleep(delay)
    raise AssertionError("unreachable")
