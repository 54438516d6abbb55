"""Notes to the user: what mlsse did with the input that is not an error (``MlsseWarning``)."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import typer


@contextmanager
def printed_notes():
    """Run the block, then print each ``MlsseWarning`` it raised as a ``note:`` line on stderr.

    Other warnings are shown as Python shows them.
    """
    from mlsse.errors import MlsseWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MlsseWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, MlsseWarning):
            typer.echo(f"note: {warning.message}", err=True)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
