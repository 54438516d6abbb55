"""The ``mlsse`` command line. Each subcommand lives in its own module; heavy imports happen inside the
command bodies so that ``mlsse --help`` answers at once."""

from __future__ import annotations

import functools

import typer

from mlsse.cli import data as data_commands
from mlsse.cli import models as models_commands
from mlsse.cli.dope import dope_command
from mlsse.cli.evaluate import evaluate_command
from mlsse.cli.explain import explain_command
from mlsse.cli.predict import predict_command
from mlsse.cli.rank import rank_command
from mlsse.cli.screen import screen_command
from mlsse.cli.serve import serve_command
from mlsse.cli.train import train_command
from mlsse.errors import MlsseError


def one_line_errors(command):
    """Wrap a command body so that mlsse's own errors end it with one ``error:`` line and exit code 2.

    Typer itself handles usage errors (also exit 2).

    Parameters
    ----------
    command : callable
        The command body.

    Returns
    -------
    callable
        The wrapped body: an ``MlsseError`` or an ``OSError`` (a file that cannot be read or written) becomes
        one ``error:`` line on stderr and ``typer.Exit(2)``.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except MlsseError as exc:
            typer.echo(f"error: {_printable(str(exc))}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # e.g. an output path that is a directory or not writable
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"error: {_printable(f'{where}{exc.strerror or exc}')}", err=True)
            raise typer.Exit(2) from None

    return wrapper


#: Longest error line printed: a message that quotes a damaged file or a huge input is cut here.
MAX_ERROR_CHARACTERS = 500


def _printable(message: str) -> str:
    """An error message safe for a terminal: non-printing characters escaped as in ``repr`` (a bit-flipped file's
    bytes, control codes in a formula) and the line cut at :data:`MAX_ERROR_CHARACTERS`."""
    shown = "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in message)
    return shown if len(shown) <= MAX_ERROR_CHARACTERS else shown[:MAX_ERROR_CHARACTERS] + "…"


def _register(app: typer.Typer, name: str, command) -> None:
    app.command(name)(one_line_errors(command))


app = typer.Typer(name="mlsse", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Predict ionic conductivity and activation energy of Li solid-state electrolytes.")
for _name, _command in (("predict", predict_command), ("rank", rank_command), ("dope", dope_command),
                        ("screen", screen_command),
                        ("explain", explain_command),
                        ("retrain", models_commands.retrain_command), ("train", train_command),
                        ("evaluate", evaluate_command), ("serve", serve_command)):
    _register(app, _name, _command)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"mlsse {version('mlsse')}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                          help="Print mlsse's version and exit.")) -> None:
    """Predict ionic conductivity and activation energy of Li solid-state electrolytes."""


app.add_typer(models_commands.app, name="models")
app.add_typer(data_commands.app, name="data")
for _name, _command in models_commands.COMMANDS.items():
    _register(models_commands.app, _name, _command)
for _name, _command in data_commands.COMMANDS.items():
    _register(data_commands.app, _name, _command)


def main() -> None:
    """Run the command line (the console-script entry point) in typer's standalone mode.

    Usage errors print click's message and exit 2; mlsse's own errors print one ``error:`` line and exit 2.
    """
    app()
