"""``mlsse evaluate``: paper-grouped CV metrics and parity plots, with baselines, in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def evaluate_command(
    out: Annotated[Path, typer.Option(help="Directory for metrics.json and parity PNGs.")] = Path("evaluation"),
    model: Annotated[Path | None, typer.Option(help="Model whose hyper-parameters to evaluate "
                                               "(default: the active model).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the folds and models.")] = 0,
    external: Annotated[Path | None, typer.Option(help="Directory with the public data files.")] = None,
) -> None:
    """Grouped CV on the OBELiX training split and the full table, holding out papers and papers+compositions:
    mlsse vs median vs random forest."""
    from rich.console import Console
    from rich.table import Table

    from mlsse.data.build import load_curated
    from mlsse.data.obelix import load_obelix
    from mlsse.models.evaluation import evaluate
    from mlsse.models.predict import load_predictor

    predictor = load_predictor(model)
    params = predictor.metadata.get("params")
    obelix, _ = load_obelix(external)
    metrics = evaluate(load_curated(external_dir=external), obelix, out, params=params, seed=seed)
    table = Table(title="grouped 5-fold CV (MAE; log10 S/cm or eV)")
    for column in ("run", "held out", "rows", "papers", "mlsse", "median", "RF elements+lattice", "mlsse R²", "mlsse ρ"):
        table.add_column(column, no_wrap=True)
    for key, run in metrics.items():
        m = run["models"]
        table.add_row(key.split("/")[0], run["held_out"], str(run["n"]), str(run["groups"]),
                      f"{m['mlsse']['mae']:.3f}", f"{m['median']['mae']:.3f}", f"{m['rf_elements_lattice']['mae']:.3f}",
                      f"{m['mlsse']['r2']:.2f}", f"{m['mlsse']['spearman']:.2f}")
    # Wide enough for the run names even when stdout is a pipe (rich then assumes 80 columns).
    console = Console()
    console.width = max(console.width, 140)
    console.print(table)
    # Only the papers protocol: the other papers' values are the same under both, the model is not.
    repeats = Table(title="rows another paper also measured (MAE): how far apart papers are, and mlsse")
    for column in ("run", "rows", "other papers' median", "mlsse"):
        repeats.add_column(column, no_wrap=True)
    for key, run in metrics.items():
        if run["held_out"] == "papers":
            r = run["repeat_measurements"]
            repeats.add_row(key.split("/")[0], str(r["n"]), f"{r['mae_other_papers']:.3f}", f"{r['mae_mlsse']:.3f}")
    console.print(repeats)
    typer.echo(f"wrote {out / 'metrics.json'} and parity plots")
