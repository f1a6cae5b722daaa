"""Where the Dask scheduler is and how rows are cut into chunks. How, not what: nothing here enters a fingerprint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ls_pipeline import settings
from ls_pipeline.errors import UserError

ADDRESS_ENV = "LS_DASK_ADDRESS"  # tcp://HOST:PORT of a running `dask scheduler`; unset: embed in this process
CHUNK_ROWS_ENV = "LS_DASK_CHUNK_ROWS"
# Placement: chunks run only on workers started with these resources (`dask worker ... --resources GPU=1`), so a
# team sends the model to its GPU machines and keeps it off the rest. `GPU=1` or `GPU=1,MEMORY=8e9`; unset: any worker.
RESOURCES_ENV = "LS_DASK_RESOURCES"
# A chunk costs a fixed scheduling overhead beyond its texts (docs/performance.md#on-a-cluster): the default keeps
# that a small share of each chunk, and the journal, the sidecar and the scheduler's task list short.
DEFAULT_CHUNK_ROWS = settings.DECLARED[CHUNK_ROWS_ENV].default
_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/:]+:\d{1,5}$")
_RESOURCE = re.compile(r"^([A-Za-z_][\w-]*)=(\d+(?:\.\d+)?(?:e\d+)?)$")


@dataclass(frozen=True)
class DaskSettings:
    address: str
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    connect_timeout_s: float = 10.0  # reaching the scheduler at the start of the step
    worker_wait_s: float = 60.0  # for the first worker to join, when none is there yet
    resources: tuple[tuple[str, float], ...] = ()  # what each chunk needs of a worker (Dask worker resources)

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.address):
            raise UserError(
                f"{ADDRESS_ENV} must be a Dask scheduler address like tcp://HOST:PORT, got {self.address!r}"
            )
        if isinstance(self.chunk_rows, bool) or not isinstance(self.chunk_rows, int) or self.chunk_rows < 1:
            raise UserError(f"{CHUNK_ROWS_ENV} must be a positive whole number of rows, got {self.chunk_rows!r}")


def from_env(env: Mapping[str, str] | None = None, address: str | None = None) -> DaskSettings | None:
    """The Dask workers this process should embed on: `address` (a Dagster resource's) or LS_DASK_ADDRESS; None if
    neither names one (then nothing changes: the step embeds in its own process)."""
    address = (address or settings.get(ADDRESS_ENV, env) or "").strip()
    if not address:
        return None
    return DaskSettings(
        address, settings.get(CHUNK_ROWS_ENV, env), resources=parse_resources(settings.get(RESOURCES_ENV, env))
    )


def parse_resources(text: str) -> tuple[tuple[str, float], ...]:
    """`GPU=1,MEMORY=8e9` as Dask's resources mapping, in order; a malformed entry is one line with the form."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _RESOURCE.match(item)
        if not match:
            raise UserError(f"{RESOURCES_ENV} must be NAME=AMOUNT[,NAME=AMOUNT...] like GPU=1, got {item!r}")
        pairs.append((match[1], float(match[2])))
    return tuple(pairs)
