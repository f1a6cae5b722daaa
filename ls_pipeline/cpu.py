"""The CPU a result was computed on: the features that make ONNX Runtime, BLAS and numba pick one kernel or another.

Recorded in every sidecar beside the library versions, never in a fingerprint: another CPU gives vectors equal to
about 1e-6, not bit for bit, yet the artifact stands for the same inputs and parameters (docs/reproducibility.md).
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path
from typing import Any

# Instruction sets that change which kernel a numeric library runs (x86: vector width, fused multiply-add, int8 and
# half-precision dot products, AMX tiles; Arm: NEON, SVE, int8 and bf16 dot products), as /proc/cpuinfo names them.
KERNEL_FEATURES = (
    "sse4_2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16",
    "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
    "asimd", "asimddp", "i8mm", "bf16", "sve", "sve2",
)  # fmt: skip
CPUINFO = Path("/proc/cpuinfo")


def cpu_record() -> dict[str, Any]:
    """{"model", "arch", "features"}, a fresh dict for each sidecar (read once per process: Linux's /proc/cpuinfo,
    elsewhere numpy's own view)."""
    model, arch, features = _read()
    return {"model": model, "arch": arch, "features": list(features)}


@cache
def _read() -> tuple[str, str, tuple[str, ...]]:
    model, flags = _cpuinfo()
    if flags is None:
        flags = _numpy_features()
    features = tuple(name for name in KERNEL_FEATURES if name in flags)
    return model or platform.processor() or "unknown", platform.machine(), features


def _cpuinfo() -> tuple[str, set[str] | None]:
    try:
        text = CPUINFO.read_text(errors="replace")
    except OSError:
        return "", None
    model, flags = "", None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "features") and flags is None:  # x86 says flags, Arm says Features
            flags = set(value.split())
    return model, flags


def _numpy_features() -> set[str]:
    """numpy's own runtime detection (macOS, Windows), in /proc/cpuinfo's spelling."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as found
    except ImportError:  # numpy's private table moved: record no features rather than fail a stage
        return set()
    spelling = {"FMA3": "fma", "SSE42": "sse4_2", "AVX512VNNI": "avx512_vnni", "AVX512BF16": "avx512_bf16"}
    spelling["AVX512FP16"] = "avx512_fp16"
    return {spelling.get(name, name.lower()) for name, present in found.items() if present}
