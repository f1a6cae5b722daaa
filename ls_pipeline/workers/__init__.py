"""Where Dagster steps run on a compute cluster ("workers"): the Celery executor, its watch on nodes, and the
placement of Dagster steps on queues. The Dask embedding fan-out lives in dask_embedding/."""
