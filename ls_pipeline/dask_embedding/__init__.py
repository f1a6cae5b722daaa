"""Work spread over a Dask cluster: the embedding step's row chunks, one model per worker (LS_DASK_ADDRESS)."""
