"""Provenance of a materialisation: the version of the code that computed it (the hash
of the config it ran with is ``twin_resources.config.config_hash``)."""

import ast
import hashlib
import importlib.util
from functools import cache
from pathlib import Path

FIRST_PARTY = ("twin_model", "twin_resources", "twin_assets")
VERSION_LENGTH = 12


@cache
def code_version(module: str) -> str:
    """A version of ``module``'s code: the first 12 hex digits of sha256 over its source
    and the source of every first-party module it imports, directly or not.

    It changes when any of that source changes (a comment included) and not when an
    unrelated module does, so Dagster flags exactly the assets whose code moved.
    """
    digest = hashlib.sha256()
    for name in sorted(_first_party_closure(module)):
        digest.update(name.encode() + b"\0" + _source_path(name).read_bytes() + b"\0")
    return digest.hexdigest()[:VERSION_LENGTH]


def _source_path(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"no source for module {module!r}")
    return Path(spec.origin)


def _first_party_closure(module: str) -> set[str]:
    seen, pending = set(), [module]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += _first_party_imports(_source_path(name))
    return seen


def _first_party_imports(path: Path) -> list[str]:
    """Modules of this project that ``path`` imports (``from package import module`` counts
    the module when it is one, else the package)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [_submodule_or_module(node.module, alias.name) for alias in node.names]
    return [name for name in found if name.split(".")[0] in FIRST_PARTY]


def _submodule_or_module(module: str, name: str) -> str:
    candidate = f"{module}.{name}"
    try:
        return candidate if importlib.util.find_spec(candidate) else module
    except ModuleNotFoundError:  # ``module`` is a module, not a package: ``name`` is an attribute
        return module
