"""A user's YAML file that maps names to entries (_sources.yaml, _prices.yaml), read with one clear error."""

from __future__ import annotations

from pathlib import Path

import yaml

from ls_pipeline.errors import UserError


def read_mapping(file: Path, shape: str) -> dict[str, object]:
    """`file`'s mapping with string keys (empty for an empty file); UserError naming the file when it is not YAML
    or not a mapping, `shape` saying what it must map, e.g. "dataset names to file paths"."""
    try:
        given = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{file} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(given, dict):
        raise UserError(f"{file} must map {shape}")
    return {str(k): v for k, v in given.items()}
