"""Loading: one file into its model naming file and key on failure, all six files with
the rules between them, and the hash of their validated content."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from twin_resources.config._base import ConfigError, KeyConflict, StrictModel
from twin_resources.config._calendar import CalendarConfig
from twin_resources.config._firm import FirmConfig
from twin_resources.config._risk_limits import RiskLimitsConfig
from twin_resources.config._solutions import SolutionsConfig
from twin_resources.config._strategies import StrategiesConfig
from twin_resources.config._twin import TwinFileConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"


class TwinConfig(StrictModel):
    calendar: CalendarConfig
    strategies: StrategiesConfig
    solutions: SolutionsConfig
    risk_limits: RiskLimitsConfig
    firm: FirmConfig
    twin: TwinFileConfig


_FILES: dict[str, Any] = {
    "calendar": CalendarConfig,
    "strategies": StrategiesConfig,
    "solutions": SolutionsConfig,
    "risk_limits": RiskLimitsConfig,
    "firm": FirmConfig,
    "twin": TwinFileConfig,
}


def config_dir() -> Path:
    """``TWIN_CONFIG_DIR`` when set, else the project's ``config/``."""
    return Path(os.environ.get("TWIN_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def load_file(path: Path, model: Any) -> Any:
    """Parse one YAML file into ``model`` (a file model of ``_FILES``); every failure names
    the file and the key."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror or error})") from None
    try:
        return _validated(model, text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{path}: malformed YAML{where}: {reason}") from None
    except _NotAMapping as error:
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {error}") from None
    except ValidationError as error:
        reasons = "; ".join(f"key '{key}': {reason}" for key, reason in _keyed_reasons(error))
        raise ConfigError(f"{path}: {reasons}") from None


class _NotAMapping(TypeError):
    """The file's top level is not a mapping (the message is the type it is)."""


@lru_cache(maxsize=128)
def _validated(model: Any, text: str) -> Any:
    """``text`` parsed and validated into ``model``, once per distinct text in a process:
    every step of a run reads the config (35 parses a raw-layer run, 1.3 s of pure-Python
    YAML), and a loaded config is frozen, so sharing it is safe. Failures are not cached."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise _NotAMapping(type(data).__name__)
    return _adapter(model).validate_python(data)


@cache
def _adapter(model: Any) -> TypeAdapter:
    """The validator of a file model, built once (the run reads config at every step)."""
    return TypeAdapter(model)


def _keyed_reasons(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(full key path, reason) per failure; a ``KeyConflict`` names the keys below its model."""
    for item in error.errors():
        where = [str(part) for part in item["loc"]]
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, KeyConflict):
            for key, reason in cause.conflicts:
                yield ".".join([*where, key]), reason
        else:
            yield ".".join(where) or "<top>", _ONE_WORDING.get(item["type"], item["msg"])


_ONE_WORDING = {"unexpected_keyword_argument": "Extra inputs are not permitted"}
"""A section that is a domain type (a pydantic dataclass) words an unknown key otherwise
than a model does; the file says it one way."""


def load_calendar(directory: Path | None = None) -> CalendarConfig:
    """Only the calendar: what the partitions definition needs at code-location load."""
    return load_file((directory or config_dir()) / "calendar.yaml", CalendarConfig)  # type: ignore[return-value]


def load_config(directory: Path | None = None) -> TwinConfig:
    """All six files of ``directory`` (default: ``config_dir()``), each validated, then
    checked against each other; one ``ConfigError`` lists every file's problems."""
    directory = directory or config_dir()
    parts, problems = {}, []
    for name, model in _FILES.items():
        try:
            parts[name] = load_file(directory / f"{name}.yaml", model)
        except ConfigError as error:
            problems.append(str(error))
    if problems:
        raise ConfigError("\n".join(problems))
    config = TwinConfig(**parts)
    problems = _cross_file_problems(config, directory)
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def _cross_file_problems(config: TwinConfig, directory: Path) -> list[str]:
    """A solution whose target exposure is above the firm's gross leverage limit breaches
    it on every day it is invested; the policy search may only name configured solutions; a
    cash rate series that starts after the calendar's first business day leaves the first
    days without a rate."""
    ceiling = config.risk_limits.portfolio.max_gross_leverage
    limit = f"{directory / 'risk_limits.yaml'} key 'portfolio.max_gross_leverage' {ceiling}"
    known = [s.solution_id for s in config.solutions.solutions]
    searched = config.twin.policy_search.solutions or ()
    first, rates = config.calendar.first_business_day, config.firm.cash_rate
    late = [
        f"{directory / 'firm.yaml'}: key 'cash_rate.0.from': the cash rate starts on {rate.start}, after "
        f"{directory / 'calendar.yaml'} key 'first_business_day' {first}: give a rate in force from that day"
        for rate in rates[:1]
        if rate.start > first
    ]
    templates = [config.firm.new_solution.template] if config.firm.new_solution else []
    unknown_template = [
        f"{directory / 'firm.yaml'}: key 'new_solution.template': no solution {name!r} in "
        f"{directory / 'solutions.yaml'} (known: {', '.join(known)})"
        for name in templates
        if name not in known
    ]
    return (
        late
        + unknown_template
        + [
            f"{directory / 'twin.yaml'}: key 'policy_search.solutions.{index}': no solution {name!r} in "
            f"{directory / 'solutions.yaml'} (known: {', '.join(known)})"
            for index, name in enumerate(searched)
            if name not in known
        ]
        + [
            f"{directory / 'solutions.yaml'}: key 'solutions.{index}.target_exposure': "
            f"target_exposure {solution.target_exposure} is above {limit}"
            for index, solution in enumerate(config.solutions.solutions)
            if solution.target_exposure > ceiling
        ]
    )


def config_hash(directory: Path | None = None) -> str:
    """sha256 of the six files' validated content as canonical JSON (sorted keys, defaults
    filled in): comments, layout, key order and spelling out a default leave it unchanged;
    any value changes it. Provenance records it with each partition."""
    content = load_config(directory).model_dump(mode="json")
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
