"""Progress of long commands on stderr: rich progress bars on a terminal, plain stage lines elsewhere."""

from __future__ import annotations

from contextlib import contextmanager

from mlsse.progress import Progress


class TerminalProgress(Progress):
    """Shows a job's stages as lines on stderr and its tasks as rich progress bars.

    The bars are drawn only when stderr is a terminal: a log or a pipe gets the stage lines alone. Use it as a
    context manager around the job, so the bars are drawn while it runs and put away after.

    Parameters
    ----------
    quiet : bool, default False
        Show nothing.

    Attributes
    ----------
    quiet : bool
        As given.
    console : rich.console.Console
        The stderr console.
    bars : rich.progress.Progress
        The progress bars (disabled when ``quiet`` or stderr is not a terminal).
    """

    def __init__(self, quiet: bool = False):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bars

        self.quiet = quiet
        self.console = Console(stderr=True)
        self.bars = Bars(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), console=self.console, transient=True,
                         disable=quiet or not self.console.is_terminal)

    def __enter__(self) -> "TerminalProgress":
        self.bars.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.__exit__(*exc)

    def message(self, text: str) -> None:
        """Print ``text`` as one line on stderr, unless ``quiet``."""
        if not self.quiet:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    @contextmanager
    def task(self, description: str, total: int | None = None):
        """Show a progress bar for the block, as :meth:`mlsse.progress.Progress.task`; removed when it ends."""
        task_id = self.bars.add_task(description, total=total)
        try:
            yield lambda steps=1: self.bars.advance(task_id, steps)
        finally:
            self.bars.remove_task(task_id)
