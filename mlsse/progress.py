"""How long jobs report what they are doing: stage messages, and steps within a task.

The library reports to a :class:`Progress` it is given and never prints; :data:`SILENT` (the default) drops
everything. The command line passes one that draws rich progress bars on stderr (``mlsse.cli.terminal_progress``).

Layer: imports nothing from mlsse, so every layer may report.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


class Progress:
    """Receives a long job's progress; this base class ignores it (subclass to show it)."""

    def message(self, text: str) -> None:
        """Report that a stage has started or a result is known.

        Parameters
        ----------
        text : str
            One line, e.g. ``"featurizing 1625 σ rows"``.
        """

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        """Run a block of ``total`` steps as one task.

        Parameters
        ----------
        description : str
            What the task does, shown beside its progress.
        total : int, optional
            Number of steps; None if unknown.

        Yields
        ------
        callable
            ``advance(steps=1)``: the block calls it with the number of steps done since its last call.
        """
        yield _ignore

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Yield ``items`` one by one, reporting one step each.

        Parameters
        ----------
        items : iterable
            The items to go through.
        description : str
            What the task does, shown beside its progress.
        total : int, optional
            Number of items; defaults to ``len(items)`` when ``items`` has a length.

        Yields
        ------
        object
            Each item of ``items``, in order.
        """
        if total is None and hasattr(items, "__len__"):
            total = len(items)
        with self.task(description, total) as advance:
            for item in items:
                yield item
                advance(1)


def _ignore(steps: int = 1) -> None:
    return None


#: The progress of a job nobody watches.
SILENT = Progress()
