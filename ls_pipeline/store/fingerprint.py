"""Fingerprints: what makes two artifacts the same (inputs, parameters, stage code version)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def fingerprint(stage: str, code_version: str, params: Mapping[str, Any], inputs: Mapping[str, str]) -> str:
    """Hash of a stage's code version, its parameters and its inputs' fingerprints."""
    payload = {"stage": stage, "code_version": code_version, "params": params, "inputs": dict(sorted(inputs.items()))}
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]
