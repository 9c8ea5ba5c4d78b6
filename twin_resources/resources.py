"""Dagster resources: the warehouse and the return source, configured from environment
variables (``TWIN_WAREHOUSE``, ``TWIN_CONFIG_DIR``, ``TWIN_RETURNS_FILE``,
``TWIN_FACTORS_FILE``)."""

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from twin_model.contracts import table_spec
from twin_model.data import SyntheticConfig
from twin_resources.artifacts import ArtifactStore, artifacts_root
from twin_resources.config import (
    FirmConfig,
    RiskLimitsConfig,
    SolutionsConfig,
    StrategiesConfig,
    TwinConfig,
    load_calendar,
    load_config,
    load_file,
)
from twin_resources.sources import BundledSource, FactorsFile, FileSource, ReturnSource, SyntheticSource
from twin_resources.warehouse import Warehouse


def env_or_default(name: str, default: str) -> str | dg.EnvVar:
    """``EnvVar(name)`` when the variable is set (shown as such in the UI), else ``default``."""
    return dg.EnvVar(name) if os.environ.get(name) else default


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file, and reads of history from it (trailing windows)."""

    path: str = Field(description="Path of the DuckDB file (TWIN_WAREHOUSE).")
    lock_timeout_s: float = Field(default=120.0, description="How long to retry a file held by another writer.")

    def warehouse(self) -> Warehouse:
        return Warehouse(self.path, lock_timeout_s=self.lock_timeout_s)

    def artifacts(self) -> ArtifactStore:
        """Large arrays beside the warehouse file, its own folder: ``<dir>/<stem>.artifacts/``."""
        return ArtifactStore(artifacts_root(self.path))

    def read_history(
        self, table: str, start: dt.date | None, end: dt.date | None, columns: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """Rows of ``layer.table`` dated ``start`` to ``end``: a date-range query, not a
        Dagster partition mapping, for trailing windows of any length."""
        return self.warehouse().read(table_spec(table), start, end, columns)


class ReturnSourceResource(dg.ConfigurableResource):
    """The source of strategy returns: ``strategies.yaml``'s ``source`` section, replaced by
    ``TWIN_RETURNS_FILE`` when that is set; its factors are the source's own, replaced by
    ``TWIN_FACTORS_FILE`` (or ``source.factors_file``) when that is set, with
    ``factors.benchmark`` naming the benchmark among them. Read at run time, so a broken
    file fails the raw assets with a message naming it, not the code location."""

    config_dir: str = Field(description="Directory of the firm's YAML config (TWIN_CONFIG_DIR).")
    returns_file: str | None = Field(default=None, description="A CSV or Parquet returns file (TWIN_RETURNS_FILE).")
    factors_file: str | None = Field(
        default=None, description="A CSV or Parquet factors file: date, factor_id, ret (TWIN_FACTORS_FILE)."
    )

    def source(self) -> ReturnSource:
        directory = Path(self.config_dir)
        config = load_file(directory / "strategies.yaml", StrategiesConfig)
        settings = config.source
        factors_path = self.factors_file or _in(directory, settings.factors_file)
        factors = FactorsFile(factors_path, config.factors.benchmark) if factors_path else None
        if self.returns_file:
            return FileSource(self.returns_file, factors)
        if settings.kind == "file":
            return FileSource(_in(directory, settings.returns_file), factors)
        if settings.kind == "synthetic":
            anchor = load_calendar(directory).first_business_day
            return SyntheticSource(
                SyntheticConfig(
                    n_strategies=settings.synthetic.n_strategies, seed=settings.synthetic.seed, anchor=anchor
                ),
                settings.synthetic.shocks,
                factors,
            )
        return BundledSource(cost_bps=settings.cost_bps, factors=config.factors, factors_file=factors)


def _in(directory: Path, name: str | None) -> Path | None:
    """A configured file: relative to the config directory unless absolute."""
    if not name:
        return None
    path = Path(name)
    return path if path.is_absolute() else directory / path


class TwinConfigResource(dg.ConfigurableResource):
    """The firm's YAML config, read at run time so a broken file fails the assets that
    need it (naming the file), not the code location. Every read validates all six files
    and the rules between them, so a step that reads any of them fails on a broken one,
    firm.yaml included, long before the firm layer uses it."""

    config_dir: str = Field(description="Directory of the firm's YAML config (TWIN_CONFIG_DIR).")

    def validated(self) -> TwinConfig:
        """All six files, each checked and cross-checked (``load_config``)."""
        return load_config(Path(self.config_dir))

    def strategies(self) -> StrategiesConfig:
        return self.validated().strategies

    def solutions(self) -> SolutionsConfig:
        return self.validated().solutions

    def risk_limits(self) -> RiskLimitsConfig:
        return self.validated().risk_limits

    def firm(self) -> FirmConfig:
        return self.validated().firm
