"""``mlsse evaluate``: paper-grouped CV metrics and parity plots, with baselines, in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def evaluate_command(
    out: Annotated[Path, typer.Option(help="Directory for metrics.json and parity PNGs (created if missing).")]
    = Path("evaluation"),
    model: Annotated[Path | None, typer.Option(help="Model whose hyper-parameters to evaluate "
                                               "(default: the active model).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the folds and models.")] = 0,
    repeats: Annotated[int, typer.Option(min=1, help="Redraw the folds with this many seeds (seed, seed+1, …) "
                                         "and show the MAE's mean and range.")] = 1,
    external: Annotated[Path | None, typer.Option(help="Directory with the public data files.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr.")] = False,
) -> None:
    """Paper-grouped CV on OBELiX and the full table: mlsse vs median vs random forest, with parity plots."""
    from rich.console import Console
    from rich.table import Table

    from mlsse.cli.terminal_progress import TerminalProgress
    from mlsse.data.build import load_curated
    from mlsse.data.obelix import load_obelix
    from mlsse.models.evaluation import evaluate
    from mlsse.workspace.registry import load_predictor

    predictor = load_predictor(model)
    params = predictor.metadata.get("params")
    obelix, _ = load_obelix(external)
    with TerminalProgress(quiet) as progress:
        progress.message("building the curated table and featurizing it")
        metrics = evaluate(load_curated(external_dir=external), obelix, out, params=params, seed=seed,
                           repeats=repeats, progress=progress)
    temperature_run = metrics.pop("full_log10_sigma_at_temperature/papers")
    within = {target: metrics.pop(f"within_series_{target}/papers") for target in ("log10_sigma", "ea_eV")}
    over = f", mean (min–max) over fold seeds {seed}…{seed + repeats - 1}" if repeats > 1 else ""
    table = Table(title=f"grouped 5-fold CV (MAE; log10 S/cm or eV{over})")
    first = f" (seed {seed})" if repeats > 1 else ""
    columns = ["run", "held out", "rows", "papers", "mlsse", "median", "RF elements+lattice", f"mlsse R²{first}",
               f"mlsse ρ{first}"]
    if repeats > 1:
        columns.append("mlsse < RF")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for key, run in metrics.items():
        m = run["models"]
        cells = [key.split("/")[0], run["held_out"], str(run["n"]), str(run["groups"])]
        if repeats > 1:
            mae = run["over_seeds"]["mae"]
            cells += [_spread(mae[name]) for name in ("mlsse", "median", "rf_elements_lattice")]
        else:
            cells += [f"{m[name]['mae']:.3f}" for name in ("mlsse", "median", "rf_elements_lattice")]
        cells += [f"{m['mlsse']['r2']:.2f}", f"{m['mlsse']['spearman']:.2f}"]
        if repeats > 1:
            wins = sum(a < b for a, b in zip(mae["mlsse"], mae["rf_elements_lattice"]))
            cells.append(f"{wins}/{repeats} seeds")
        table.add_row(*cells)
    # Wide enough for the run names even when stdout is a pipe (rich then assumes 80 columns).
    console = Console()
    console.width = max(console.width, 200)
    console.print(table)
    # Only the papers protocol: the other papers' values are the same under both, the model is not.
    repeat_table = Table(title="rows another paper also measured (MAE): how far apart papers are, and mlsse")
    for column in ("run", "rows", "of which the same value", "other papers' median", "mlsse"):
        repeat_table.add_column(column, no_wrap=True)
    for key, run in metrics.items():
        if run["held_out"] == "papers":
            r = run["repeat_measurements"]
            repeat_table.add_row(key.split("/")[0], str(r["n"]), str(r["n_same_value"]), f"{r['mae_other_papers']:.3f}",
                                 f"{r['mae_mlsse']:.3f}")
    console.print(repeat_table)
    censored_table = Table(title=f"censored (<1E-10, scored at 1e-15 S/cm) and measured rows apart (MAE), and how "
                                 f"well P(σ < 1e-10 S/cm) forecasts it (fold seed {seed}, papers held out)")
    for column in ("run", "censored rows", "mlsse measured", "RF measured", "mlsse censored", "RF censored",
                   "rows < 1e-10", "P(<1e-10) ROC AUC", "Brier (base rate)"):
        censored_table.add_column(column, no_wrap=True)
    for key, run in metrics.items():
        if run["held_out"] == "papers" and run["n_censored"]:
            m, below = run["models"], run["below_detection"]
            censored_table.add_row(key.split("/")[0], str(run["n_censored"]),
                                   *(_number(m[name][part]) for part in ("mae_measured", "mae_censored")
                                     for name in ("mlsse", "rf_elements_lattice")),
                                   str(below["n_events"]), _number(below["roc_auc"]),
                                   f"{below['brier']:.3f} ({below['brier_base_rate']:.3f})")
    console.print(censored_table)
    coverage_table = Table(title=f"80 % intervals on held-out papers (fold seed {seed}): coverage, and MAE in log10 "
                                 "S/cm or eV, in and out of the applicability domain")
    for column in ("run", "held out", "coverage", "in domain: rows, MAE, coverage",
                   "out of domain: rows, MAE, coverage"):
        coverage_table.add_column(column, no_wrap=True)
    for key, run in metrics.items():
        m = run["models"]["mlsse"]
        coverage_table.add_row(key.split("/")[0], run["held_out"], f"{m['coverage_80']:.3f}",
                               f"{run['n'] - m['n_out_of_domain']}, {_number(m['mae_in_domain'])}, "
                               f"{_number(m['coverage_80_in_domain'])}",
                               f"{m['n_out_of_domain']}, {_number(m['mae_out_of_domain'])}, "
                               f"{_number(m['coverage_80_out_of_domain'])}")
    console.print(coverage_table)
    t = temperature_run
    temperature_table = Table(title=f"σ away from room temperature ({t['n']} measured rows, {t['groups']} papers, "
                                    f"papers held out, fold seed {seed}): from σ(25 °C) and Ea through Arrhenius; "
                                    "errors and half-widths in log10 S/cm")
    for column in ("rows", "n", "MAE", "mean error", "80 % coverage", "mean half-width"):
        temperature_table.add_column(column, no_wrap=True)
    for label, part in [("all", t), ("in domain", t["in_domain"]), ("out of domain", t["out_of_domain"]),
                        *((f"{band} °C", part) for band, part in t["bands_C"].items())]:
        if part["n"]:
            temperature_table.add_row(label, str(part["n"]), _number(part["mae"]), _number(part["mean_error"]),
                                      _number(part["coverage_80"]), _number(part["mean_half_width"]))
    console.print(temperature_table)
    console.print(_within_series_table(within, seed, repeats))
    console.print(_discovery_table(metrics, seed, repeats))
    typer.echo(f"wrote {out / 'metrics.json'} and parity plots" + (f" (fold seed {seed})" if repeats > 1 else ""))


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _spread(values: list[float]) -> str:
    return f"{sum(values) / len(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def _value_over_seeds(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    return _spread(values) if len(values) > 1 else f"{values[0]:.3f}"


def _discovery_table(metrics: dict, seed: int, repeats: int):
    """Finding the fast conductors (σ ≥ 1e-3 S/cm): the top of each σ run's held-out ranking."""
    from rich.table import Table

    over = f"mean (min–max) over fold seeds {seed}…{seed + repeats - 1}" if repeats > 1 else f"fold seed {seed}"
    table = Table(title=f"discovery of σ ≥ 1e-3 S/cm ({over}); decile errors in log10 S/cm")
    for column in ("run", "held out", "view", "top-10 precision", "top-2 % precision", "recall", "F1",
                   "picks to 3 of top 5 %", "worst decile error"):
        table.add_column(column, no_wrap=True)
    for key, run in metrics.items():
        for view, figures in run.get("discovery_over_seeds", {}).items():
            if view == "seeds":
                continue
            table.add_row(key.split("/")[0], run["held_out"], view,
                          *(_value_over_seeds(figures[name]) for name in (
                              "top10_precision_1e-3", "top2pct_precision_1e-3", "recall_1e-3", "f1_1e-3",
                              "picks_to_find_3_of_top_5pct", "worst_decile_abs_mean_error")))
    return table


def _within_series_table(within: dict, seed: int, repeats: int):
    """The within-series benchmark: how well held-out predictions order the members of each doping series."""
    from rich.table import Table

    over = f"mean (min–max) over fold seeds {seed}…{seed + repeats - 1}" if repeats > 1 else f"fold seed {seed}"
    first = within["log10_sigma"]
    table = Table(title=f"within doping series (papers held out, {over}): {first['mlsse']['series']} σ series, "
                        f"{within['ea_eV']['mlsse']['series']} Ea series; offset-free MAE in log10 S/cm or eV")
    for column in ("target", "ranked by", "Spearman ρ", "top-1 hits", "chance", "pairs right", "offset-free MAE",
                   "flat guess", "paired 80 % coverage"):
        table.add_column(column, no_wrap=True)
    for target, report in within.items():
        for model, figures in report["over_seeds"].items():
            if model in ("seeds", "paired_interval", "seed_series"):
                continue
            paired = report["over_seeds"].get("paired_interval", {}).get("coverage") if model == "mlsse" else None
            table.add_row(target, model, *(_spread([v for v in figures[key] if v is not None]) for key in
                                           ("spearman", "top1", "chance", "pairs_right", "offset_free_mae",
                                            "flat_mae")),
                          _spread(paired) if paired else "–")
    return table
