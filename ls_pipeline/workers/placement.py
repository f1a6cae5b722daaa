"""Which workers take which Dagster steps: each heavy Dagster step names a Celery queue, and a team starts workers
that listen on a queue only where the hardware fits. Steps without a queue go to Celery's default, `dagster`.

- `ls_gpu` (embedding): the model runs on a GPU when the worker has one (torch finds it), else on its cores.
- `ls_memory` (umap, clusters): one process holds every row's vectors and the kNN graph at once; UMAP and HDBSCAN
  stay single steps, so they need one worker with the memory, not several.

The in-process executor ignores these tags. The Dask embedding places its row chunks by Dask worker resources
instead (LS_DASK_RESOURCES, ls_pipeline/dask_embedding/settings.py).
"""

from __future__ import annotations

QUEUE_TAG = "dagster-celery/queue"  # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG, spelled here to avoid the import
DEFAULT_QUEUE = "dagster"
GPU_QUEUE = "ls_gpu"
MEMORY_QUEUE = "ls_memory"


def on_queue(queue: str) -> dict[str, str]:
    """Op tags placing a step on `queue`'s workers."""
    return {QUEUE_TAG: queue}
