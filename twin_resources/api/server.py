"""Serving the API with uvicorn (``twin serve``)."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from twin_resources.api import DEFAULT_HOST, DEFAULT_PORT
from twin_resources.api.app import create_app


def serve(warehouse_path: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the API over the snapshot of ``warehouse_path`` until interrupted."""
    uvicorn.run(create_app(warehouse_path), host=host, port=port, log_level="info")
