"""Process set-up that must happen before heavy libraries are imported."""

import atexit
import os
import shutil
import tempfile


def own_pytensor_compiledir() -> str:
    """Give this process a PyTensor compile directory of its own, unless one is set.

    PyTensor compiles C code into a cache that is not safe to share between concurrent
    processes (two Dagster runs, a test session beside a run). Each process that has
    not been given ``PYTENSOR_FLAGS=base_compiledir=...`` gets a fresh directory,
    removed at exit. Must run before pytensor is first imported.
    """
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "base_compiledir" in flags:
        return flags
    directory = tempfile.mkdtemp(prefix="twin_pytensor_")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [flags, f"base_compiledir={directory}"]))
    return os.environ["PYTENSOR_FLAGS"]
