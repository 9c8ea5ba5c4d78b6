"""What every file model shares: the errors, the strict base model, the rules across keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo


class ConfigError(ValueError):
    """A config file is missing or malformed; the message names the file, key and reason."""


class KeyConflict(ValueError):
    """Rules across a model's keys that do not hold, as (key below the model, reason)
    pairs: ``load_file`` names each key in full (``solutions.0.constraints.min_weight``)."""

    def __init__(self, conflicts: Sequence[tuple[str, str]]):
        super().__init__("; ".join(f"key '{key}': {reason}" for key, reason in conflicts))
        self.conflicts = tuple(conflicts)


def refuse(conflicts: Sequence[tuple[str, str]]) -> None:
    """Raise ``KeyConflict`` when any rule across keys failed."""
    if conflicts:
        raise KeyConflict(conflicts)


def firm_bounds(**bounds: FieldInfo) -> AfterValidator:
    """Bounds the firm's config sets on a domain type's fields beyond the type's own (a
    run fits at least 50 draws; the model itself takes any positive number): each value
    outside them is refused naming its key, in pydantic's words."""
    checks = {key: TypeAdapter(Annotated[float, bound]) for key, bound in bounds.items()}

    def check(value):
        conflicts = []
        for key, adapter in checks.items():
            try:
                adapter.validate_python(getattr(value, key))
            except ValidationError as error:
                conflicts += [(key, item["msg"]) for item in error.errors()]
        refuse(conflicts)
        return value

    return AfterValidator(check)


NonNegative = Annotated[float, Field(ge=0)]


class StrictModel(BaseModel):
    """Unknown keys are refused (a typo cannot pass silently); a loaded config is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
