"""Process set-up: a PyTensor compile directory of the process's own (before heavy
libraries are imported), and the number of worker processes (``TWIN_WORKERS``)."""

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


WORKERS_VARIABLE = "TWIN_WORKERS"
DEFAULT_WORKERS = 2


def worker_count() -> int:
    """The processes the twin may spread independent work over (``TWIN_WORKERS``, default
    2, this machine's cores): a month end's solutions, a long span's forecasts, the
    back-test's baselines. 1 keeps everything in the calling process. The
    rows do not depend on it. ``ValueError`` naming the variable when it is not a
    positive integer."""
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if not text:
        return DEFAULT_WORKERS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{WORKERS_VARIABLE}={text!r}: need a positive integer (processes), e.g. 2; 1 for none")
    return int(text)
