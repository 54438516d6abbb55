"""``mlsse train``: tune and train the σ and Ea models on the curated data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Target(str, Enum):
    """The choices of ``--target``: which model(s) to tune."""

    sigma = "sigma"
    ea = "ea"
    all = "all"


def train_command(
    target: Annotated[Target, typer.Option(help="Which model(s) to tune; the other trains with defaults.")
                      ] = Target.all,
    trials: Annotated[int, typer.Option(min=0, help="Optuna trials per tuned model (0: default parameters).")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed: same data + seed → same model.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Model directory to write (default: a new version under "
                                             "$MLSSE_HOME/models).")] = None,
    external: Annotated[Path | None, typer.Option(help="Directory with the public data files.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr.")] = False,
) -> None:
    """Train the log10 σ and Ea models (Optuna TPE, paper-grouped CV; studies in $MLSSE_HOME/optuna.db)."""
    from mlsse.cli.terminal_progress import TerminalProgress
    from mlsse.workspace.training import train_and_save

    with TerminalProgress(quiet) as progress:
        directory = train_and_save(out=out, external_dir=external, seed=seed, trials=trials,
                                   tune_targets={"sigma": ["log10_sigma"], "ea": ["ea_eV"],
                                                 "all": ["log10_sigma", "ea_eV"]}[target.value],
                                   progress=progress)
    typer.echo(f"model written to {directory}")
