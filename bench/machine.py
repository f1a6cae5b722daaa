"""The line every bench prints beside its figures: which CPU features ran them, and how loaded the machine was.

Figures from different CPUs (AVX2 against AVX-512 with VNNI) or loads are not comparable; this says which ones.
"""

from __future__ import annotations

import os

from ls_pipeline.cpu import cpu_record


def machine_line() -> str:
    cpu = cpu_record()
    features = " ".join(cpu["features"]) or "none of note"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {cpu['model']} ({cpu['arch']}, {os.cpu_count()} cores), {features}; load average {load}"
