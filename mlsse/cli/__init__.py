"""The ``mlsse`` command line. Each subcommand lives in its own module; heavy imports happen inside the
command bodies so that ``mlsse --help`` answers at once."""

from __future__ import annotations

import sys

import typer

from mlsse.cli import data as data_commands
from mlsse.cli.dope import dope_command
from mlsse.cli import models as models_commands
from mlsse.cli.evaluate import evaluate_command
from mlsse.cli.explain import explain_command
from mlsse.cli.predict import predict_command
from mlsse.cli.train import train_command
from mlsse.errors import MlsseError

app = typer.Typer(name="mlsse", no_args_is_help=True, add_completion=False,
                  help="Predict ionic conductivity and activation energy of Li solid-state electrolytes.")
app.add_typer(data_commands.app, name="data")
app.command("predict")(predict_command)
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("dope")(dope_command)
app.command("explain")(explain_command)
app.command("retrain")(models_commands.retrain_command)
app.add_typer(models_commands.app, name="models")


def main() -> None:
    """Console-script entry point: run the app; an ``MlsseError`` or an ``OSError`` (a file that cannot be read or
    written) becomes one line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except MlsseError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # e.g. an output path that is a directory or not writable: one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        if _is_usage_error(exc):
            exc.show()
            sys.exit(exc.exit_code)
        raise


def _is_usage_error(exc: Exception) -> bool:
    """Whether ``exc`` is click's usage error (it shows itself and carries its exit code). Typer ≥ 0.23 raises the
    ones of its own bundled copy of click, which are not ``click.ClickException``."""
    import click

    classes = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as BundledClickException

        classes.append(BundledClickException)
    except ImportError:  # a typer that uses click itself
        pass
    return isinstance(exc, tuple(classes))
