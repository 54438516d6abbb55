"""``mlsse retrain`` and ``mlsse models``: add lab data safely; list, switch and roll back model versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="List, select and roll back model versions.")


def retrain_command(
    data: Annotated[Path, typer.Option(help="Lab CSV: composition, sigma_S_cm or log10_sigma; optional "
                                            "temperature_C (°C), ea_eV, space_group_number, a..gamma, cif, additive, "
                                            "additive_wt_pct, reference, material, family, note, allow_unbalanced "
                                            "(yes: a formula meant although not charge balanced).")],
    name: Annotated[str | None, typer.Option(help="Name of the new model version (letters, digits, '.', '_', "
                                                  "'-').")] = None,
    trials: Annotated[int, typer.Option(min=0, help="Optuna trials per model (0: the active model's "
                                                    "hyper-parameters as they are).")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    external: Annotated[Path | None, typer.Option(help="Directory with the public data files.")] = None,
    allow_unbalanced: Annotated[bool, typer.Option("--allow-unbalanced", help="Accept formulas that cannot be "
                                                   "charge balanced (refused by default: likely typos).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr.")] = False,
) -> None:
    """Validate DATA, append it to your data store, retrain, compare old vs new, and activate the new version."""
    from rich.console import Console
    from rich.table import Table

    from mlsse.cli.terminal_progress import TerminalProgress
    from mlsse.workspace.retraining import retrain

    with TerminalProgress(quiet) as progress:
        report = retrain(data, name=name, trials=trials, seed=seed, external_dir=external, progress=progress,
                         allow_unbalanced=allow_unbalanced)
    console = Console()
    table = Table(title="paper-grouped CV on the same folds: previous vs new model (MAE, RMSE in log10 S/cm or eV)")
    for column in ("target", "model", "rows", "MAE", "RMSE", "R²", "Spearman ρ"):
        table.add_column(column)
    for target, pair in report.comparison.items():
        for which, m in pair.items():
            table.add_row(target, which, str(m["n"]), f"{m['mae']:.3f}", f"{m['rmse']:.3f}", f"{m['r2']:.3f}",
                          f"{m['spearman']:.3f}")
    console.print(table)
    shifts = Table(title="predictions for the new rows at their measured temperature, before → after")
    for column in ("composition", "T (°C)", "measured log10 σ", "before", "after", "measured Ea", "before Ea",
                   "after Ea"):
        shifts.add_column(column)
    for _, row in report.new_row_predictions.iterrows():
        shifts.add_row(row["composition"], f"{row['temperature_C']:g}", *(
            f"{row[c]:.2f}" if row[c] == row[c] else "-" for c in
            ("measured_log10_sigma", "before_log10_sigma", "after_log10_sigma", "measured_ea_eV", "before_ea_eV",
             "after_ea_eV")))
    console.print(shifts)
    for target, unit in (("log10_sigma", "decades"), ("ea_eV", "eV")):
        shift = report.public_shift[target]
        typer.echo(f"{target} of the {shift['n']} public compositions moved by a median {shift['median_abs']:.3f} "
                   f"{unit} (at most {shift['max_abs']:.3f}, {shift['max_composition']})")
    typer.echo(f"added batch {report.batch_id} ({report.rows_added} rows); active model is now {report.name} "
               f"('mlsse models rollback' restores the previous one)")


def list_command() -> None:
    """List model versions with their paper-grouped CV error; the active one is marked."""
    from rich.console import Console
    from rich.table import Table

    from mlsse.workspace.registry import model_summaries

    table = Table(title="model versions (MAE: paper-grouped 5-fold CV when trained)")
    for column in ("", "name", "created", "lab batches", "σ rows", "MAE log10 σ", "MAE Ea eV"):
        table.add_column(column)
    active = None
    for summary in model_summaries():
        if summary["problem"] is not None:
            figures = [f"DAMAGED: {summary['problem']}", "", ""]
        else:
            sigma, ea = summary["mae_log10_sigma"], summary["mae_ea_eV"]
            figures = [str(summary["sigma_rows"] if summary["sigma_rows"] is not None else "?"),
                       f"{sigma:.3f}" if sigma is not None else "–", f"{ea:.3f}" if ea is not None else "–"]
        if summary["active"]:
            active = summary["name"]
        table.add_row("active" if summary["active"] else "", summary["name"], summary["created"],
                      ", ".join(summary["batches"]) or "–", *figures)
    Console().print(table)
    typer.echo(f"active model: {active}; switch with 'mlsse models use NAME' or 'mlsse models rollback'")


def use_command(name: Annotated[str, typer.Argument(help="Model version to activate.")]) -> None:
    """Make NAME the active model."""
    from mlsse.workspace.registry import use_model

    use_model(name)
    typer.echo(f"active model: {name}")


def rollback_command() -> None:
    """Re-activate the previously active model."""
    from mlsse.workspace.registry import rollback_model

    typer.echo(f"active model: {rollback_model()}")


#: The ``mlsse models`` subcommands (registered with their error handling in :mod:`mlsse.cli`).
COMMANDS = {"list": list_command, "use": use_command, "rollback": rollback_command}
