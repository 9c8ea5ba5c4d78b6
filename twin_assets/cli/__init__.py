"""The ``twin`` command line (commands.py) and how it launches runs: in this process
(launch.py) or through a running webserver (webserver.py), cleaning up dead runs first
(runs.py)."""

from twin_assets.cli.commands import main

__all__ = ["main"]
