"""Entry points kept for ls-serve and ls_pipeline.api.serve: create_app and run_server."""

from __future__ import annotations

from typing import Any

from viewer.app import create_app

__all__ = ["create_app", "run_server"]


def run_server(data_dir: Any, host: str = "127.0.0.1", port: int = 5001) -> None:
    import pyarrow as pa
    import uvicorn

    # pyarrow's default pool (mimalloc) keeps what each of the server's threads freed: under many clients the process
    # grew without a plateau, and with the system allocator it levels off (docs/performance.md#the-viewer). The
    # buffers here are small (Arrow IPC of points, rows taken for a search), so malloc's speed is enough.
    pa.set_memory_pool(pa.system_memory_pool())
    app = create_app(data_dir)
    print(f"serving {data_dir} at http://{host}:{port}/ ({app.state.config.mode} mode)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
