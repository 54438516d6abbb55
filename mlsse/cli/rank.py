"""``mlsse rank``: order a list of candidates a chemist already has, per group, against a reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def rank_command(
    input_path: Annotated[Path, typer.Option("--input", help="CSV (or .parquet) of candidates: a 'composition' "
                                             "column and any column 'mlsse predict' reads; others are kept.")],
    output: Annotated[Path, typer.Option(help="The ranked candidates: .csv, .json or .parquet.")] = Path(
        "ranked.csv"),
    group: Annotated[str | None, typer.Option(help="Column whose values split the candidates into groups "
                                              "ranked apart (default: one group).")] = None,
    reference: Annotated[str | None, typer.Option(help="Column marking each group's reference row (true, yes, 1 "
                                                  "or x), or a formula to compare every group with (default: "
                                                  "each group's first row).")] = None,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: the active model).")] = None,
) -> None:
    """Rank candidates within each group by predicted σ, as 'mlsse dope' ranks a scan, against a reference."""
    import pandas as pd
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from mlsse.chemistry import echo
    from mlsse.cli.notes import printed_notes
    from mlsse.cli.predict import check_output
    from mlsse.doping.ranking import rank
    from mlsse.io import read_table, write_table_atomic
    from mlsse.query import rounded_predictions

    check_output(output, input_path, formats=("csv", "json", "parquet"))
    candidates = read_table(input_path, required=["composition"])
    with printed_notes():
        ranked = rank(candidates, group=group, reference=reference, model=model)
    write_table_atomic(rounded_predictions(ranked), output)
    console = Console()
    for name, rows in ranked.groupby("group", sort=False):
        table = Table(title=f"group {name}: Δ relative log10 σ (ranking, 25 °C) versus "
                            f"{rows['reference'].iloc[0]}", box=box.SIMPLE_HEAD, pad_edge=False,
                      collapse_padding=True)
        table.add_column("rank", no_wrap=True, min_width=4)
        table.add_column("composition", no_wrap=True)
        # Short cells so that a group fits an 80-column terminal; every column is in the output file.
        for column in ("Δ ±80 %", "P>ref", "σ S/cm", "dom.", "verdict", "tie"):
            table.add_column(column, no_wrap=True)
        for _, row in rows.head(10).iterrows():
            if pd.isna(row["rank"]):
                table.add_row("–", echo(row["composition"], quoted=False), "", "", "", "", "see note", "")
                continue
            reference_row = row["versus_reference"] == "reference"
            width = (row["delta_log10_sigma_hi"] - row["delta_log10_sigma_lo"]) / 2
            table.add_row(
                str(row["rank"]), echo(row["composition"], quoted=False),
                "reference" if reference_row else f"{row['delta_log10_sigma']:+.2f} ±{width:.2f}",
                "–" if reference_row else f"{row['p_beats_reference']:.2f}", f"{row['sigma_S_cm']:.2g}",
                "in" if row["in_domain"] else "OUT", "" if reference_row else row["versus_reference"],
                "≈best" if row["tied_with_best"] else "")
        console.print(table)
    console.print("Δ: the ranking's relative log10 σ minus the reference's (log10 S/cm) with its paired 80 % "
                  "half-width; σ: the absolute prediction; ≈best: cannot be told from the group's best")
    console.print(f"{len(ranked)} candidates ranked -> {output}")
