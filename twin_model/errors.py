"""The named errors of the domain, under one base so a caller can catch any of them.

Each is also a ``ValueError``: bad data or an impossible request is a bad value, and code
that caught ``ValueError`` before these had names still catches them.
"""

from __future__ import annotations


class TwinError(Exception):
    """Base of every error the domain raises by name."""


class DataQualityError(TwinError, ValueError):
    """A frame broke its table's contract; ``problems`` lists one line per failure."""

    def __init__(self, table: str, problems: list[str], origin: str | None = None):
        self.table = table
        self.problems = problems
        source = f" (from {origin})" if origin else ""
        shown = "\n  - ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{table}{source}: {len(problems)} data-quality problem(s):\n  - {shown}{more}")


class InfeasibleRequestError(TwinError, ValueError):
    """An optimisation request whose constraints cannot hold together (the message names them)."""


class StateMismatchError(TwinError, ValueError):
    """The stored tables of one solution-day do not describe one consistent state."""


class StateGapError(TwinError, ValueError):
    """A solution has stored state, but not on the business day before the run."""
