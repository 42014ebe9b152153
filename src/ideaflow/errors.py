"""Project exceptions: bad input is a `DataError`, bad parameters a `ParameterError`.

The CLI turns both into a readable message and exit status 2; anything else is an
internal error (exit status 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Violation:
    """One broken rule of the data contract (docs/contract.md §2), with the rows that break it."""

    table: str
    column: str
    rule: str
    count: int
    examples: tuple[str, ...] = ()
    hint: str = ""
    # positional row indices (in the table as read) of every offending row; used by
    # quarantine mode, not shown to the user
    rows: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def message(self) -> str:
        text = f"{self.table}.{self.column}: {self.rule}"
        details = []
        if self.count:  # 0 for problems of a whole table (missing, unreadable)
            details.append(f"{self.count:,} {'row' if self.count == 1 else 'rows'}")
        if self.examples:
            details.append("e.g. " + ", ".join(self.examples))
        if details:
            text += " (" + "; ".join(details) + ")"
        if self.hint:
            text += f". {self.hint}"
        return text


class IdeaflowError(Exception):
    """Base class of the errors that ideaflow reports to the user without a traceback."""


class DataError(IdeaflowError):
    """The input data break the data contract (docs/contract.md §2)."""

    def __init__(self, message: str, violations: Sequence[Violation] = ()):
        super().__init__(message)
        self.violations = tuple(violations)


class ParameterError(IdeaflowError, ValueError):
    """A parameter (API argument or CLI option) is out of its allowed range."""
