"""The HTTP API: FastAPI over the read snapshot (app.py), started by ``twin serve`` (server.py).

Importing the package is cheap (the CLI reads the defaults below); the app and the server
import FastAPI and uvicorn."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
