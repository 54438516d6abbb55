"""``mlsse explain``: why the model predicts what it does, for one formula or globally."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class ExplainTarget(str, Enum):
    """The choices of ``--target``: which prediction to explain."""

    sigma = "sigma"
    ea = "ea"


def explain_command(
    formula: Annotated[str | None, typer.Argument(help="Composition to explain.")] = None,
    target: Annotated[ExplainTarget, typer.Option(help="Which prediction to explain.")] = ExplainTarget.sigma,
    global_: Annotated[bool, typer.Option("--global", help="The model's global picture on its training data.")] = False,
    out: Annotated[Path, typer.Option(help="Directory for the CSV and PNG files (created if missing).")] = Path("."),
    model: Annotated[Path | None, typer.Option(help="Model directory (default: the active model).")] = None,
    external: Annotated[Path | None, typer.Option(help="Directory of the public data files, for --global "
                                                  "(default: ../shared/data/external or $MLSSE_EXTERNAL_DIR).")
                        ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr (--global).")] = False,
) -> None:
    """SHAP attributions: a table of the top contributions and a waterfall PNG (or --global beeswarm/bar)."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from mlsse.errors import MlsseError
    from mlsse.explain.shap_values import (
        LABELS,
        global_explanation_path,
        global_importance,
        global_pngs,
        grouped_contributions,
        load_explanation,
        save_explanation,
        shap_explanation,
        waterfall_png,
    )
    from mlsse.features import featurize_table
    from mlsse.io import write_csv_atomic
    from mlsse.models.targets import Target
    from mlsse.workspace.registry import load_predictor

    if global_ and formula is not None:
        raise MlsseError("give a FORMULA or --global, not both")
    if formula is None and not global_:
        raise MlsseError("give a FORMULA or --global")
    if external is not None and not global_:
        raise MlsseError("--external is read by --global (the training rows); a FORMULA needs no data files")
    if formula is not None:
        from mlsse.chemistry import parse_composition

        try:
            parse_composition(formula)
        except ValueError as exc:
            raise MlsseError(f"{formula}: {exc}") from None
    predictor = load_predictor(model)
    out.mkdir(parents=True, exist_ok=True)
    if global_:
        from mlsse.cli.terminal_progress import TerminalProgress
        from mlsse.models.targets import ea_training_rows, sigma_training_rows
        from mlsse.workspace.store import read_state
        from mlsse.workspace.training import training_table

        cache = global_explanation_path(predictor, target.value)
        explanation = load_explanation(cache)
        if explanation is not None:
            typer.echo(f"note: the model's explanation on its training rows, computed before ({cache})", err=True)
        else:
            # The rows the model was trained on: the public table plus the lab batches it names.
            batches = set(predictor.metadata.get("batches") or [])
            missing = sorted(batches - {b["id"] for b in read_state()["batches"]}) if batches else []
            if missing:  # e.g. a model copied from another $MLSSE_HOME: explain on what is here, and say so
                typer.echo(f"note: the model was trained on lab batch(es) {', '.join(missing)}, which this "
                           "$MLSSE_HOME does not hold; explaining on the rows it does", err=True)
            table = training_table(sorted(batches), external_dir=external)
            rows = sigma_training_rows(table) if target.value == "sigma" else ea_training_rows(table)
            with TerminalProgress(quiet) as progress:
                progress.message(f"explaining the model on its {len(rows)} training rows")
                explanation = shap_explanation(predictor, featurize_table(rows), target.value, progress=progress)
            if not missing:  # an explanation on part of the rows is not the model's: not kept
                save_explanation(explanation, cache)
        importance = global_importance(explanation, predictor.input_names(target.value))
        csv = write_csv_atomic(importance, out / f"shap_global_{target.value}.csv")
        pngs = global_pngs(explanation, importance, out, target.value)
        typer.echo(f"wrote {csv}, " + ", ".join(str(p) for p in pngs))
        return
    features = featurize_table(pd.DataFrame({"composition": [formula]}))
    explanation = shap_explanation(predictor, features, target.value)
    groups = grouped_contributions(explanation, predictor.input_names(target.value), 0)
    stem = re.sub(r"[^A-Za-z0-9.]+", "_", formula)
    csv = write_csv_atomic(groups, out / f"explain_{stem}_{target.value}.csv")
    label, unit = LABELS[Target.named(target.value)], Target.named(target.value).unit
    prediction = float(explanation.base_values[0] + explanation.values[0].sum())
    base = float(explanation.base_values[0])
    png = waterfall_png(explanation, 0, out / f"explain_{stem}_{target.value}.png",
                        f"{formula}: SHAP contributions to the model's {label} ({unit}), one per feature; the "
                        "table sums them per group")
    table = Table(title=f"{formula}: the model's {label} ({unit}) = {prediction:.3f} = base value {base:.3f} + "
                        f"the contributions, summed per feature group")
    for column in ("feature group", f"contribution ({unit})", "leading feature", "its value"):
        table.add_column(column)
    for _, row in groups.head(10).iterrows():
        value = row["leading_value"]
        table.add_row(row["group"], f"{row['contribution']:+.3f}", row["leading_feature"],
                      "unknown" if value != value else f"{value:.4g}")
    console = Console()
    console.print(table)
    console.print(f"Each contribution (SHAP value, {unit}) is how far that group of features moves this prediction "
                  f"away from the base value {base:.3f} {unit}, the model's expected prediction over its training "
                  "data; together they add up to the prediction.", soft_wrap=True)
    domain = predictor.predict_features(features, compositions=[formula]).iloc[0]
    if not domain["in_domain"]:
        typer.echo(f"note: {formula} is outside what the model knows ({domain['note']}); read this explanation "
                   "with care", err=True)
    typer.echo(f"wrote {csv} and {png}")

