"""Importing the package's helper modules does no work: no config is read and no
environment variable is set until the Definitions are built; no private Dagster import."""

import os
import re
import subprocess
import sys
from pathlib import Path

from twin_resources.config import PROJECT_ROOT

HELPERS = [
    "twin_assets",
    "twin_assets.shared.partitions",
    "twin_assets.jobs",
    "twin_assets.shared.common",
    "twin_assets.cli",
]


def test_importing_the_helpers_reads_no_config_and_sets_no_environment(config_dir):
    """With calendar.yaml broken, the helper modules still import and leave PYTENSOR_FLAGS
    alone; building the Definitions then names the broken file."""
    (config_dir / "calendar.yaml").write_text("first_business_day: [unclosed\n")
    env = {key: value for key, value in os.environ.items() if key != "PYTENSOR_FLAGS"}
    env["TWIN_CONFIG_DIR"] = str(config_dir)
    script = f"import os; import {', '.join(HELPERS)}; print(os.environ.get('PYTENSOR_FLAGS'))"
    imported = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().splitlines()[-1] == "None"
    built = subprocess.run(
        [sys.executable, "-c", "import twin_assets.definitions"], env=env, capture_output=True, text=True, timeout=120
    )
    assert built.returncode != 0 and "calendar.yaml" in built.stderr


def test_the_definitions_give_the_process_its_own_pytensor_compile_directory():
    env = {key: value for key, value in os.environ.items() if key != "PYTENSOR_FLAGS"}
    script = "import os; import twin_assets.definitions; print(os.environ['PYTENSOR_FLAGS'])"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "base_compiledir=" in out.stdout.strip().splitlines()[-1]


def test_no_private_dagster_import():
    private = re.compile(r"^\s*(from|import)\s+dagster\._", re.MULTILINE)
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for package in ("twin_assets", "twin_resources", "tests")
        for path in sorted(Path(PROJECT_ROOT, package).rglob("*.py"))
        if private.search(path.read_text())
    ]
    assert offenders == []
