"""Exceptions with messages a user can act on: they name the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path


class MlsseError(Exception):
    """Base class of every error mlsse raises on purpose; the CLI prints it as one line and exits 2."""


class DataError(MlsseError):
    """A problem in an input data file, located by file, line and column where known.

    The message reads ``<path>, line <line>, column '<column>': <problem>``, leaving out what is not known.

    Parameters
    ----------
    problem : str
        What is wrong, in words the user can act on.
    path : str or pathlib.Path, optional
        The file holding the problem.
    line : int, optional
        1-based line number in the file as a text editor shows it (the header is line 1).
    column : str, optional
        Name of the column holding the bad cell.

    Attributes
    ----------
    problem : str
        As given.
    path : pathlib.Path or None
        As given, as a ``Path``.
    line : int or None
        As given.
    column : str or None
        As given.
    """

    def __init__(self, problem: str, path: str | Path | None = None, line: int | None = None,
                 column: str | None = None):
        self.problem = problem
        self.path = None if path is None else Path(path)
        self.line = line
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return (", ".join(where) + ": " if where else "") + self.problem


class ModelError(MlsseError):
    """A saved model is missing, incomplete, or was made by an incompatible version."""


class MlsseWarning(UserWarning):
    """Something mlsse did with the input that the user should know of (e.g. a column kept under another name).

    The CLI prints it as a ``note:`` line.
    """
