"""``mlsse data``: build and describe the curated dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Build the curated dataset and print its data card.")


def build(
    external: Annotated[Path | None, typer.Option(help="Directory with the public data files "
                                                       "(default: ../shared/data/external).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default: the user cache).")] = None,
) -> None:
    """Merge seed, OBELiX, Liverpool and Laskowski data into DIR/curated.csv and print the data card."""
    from rich.console import Console

    from mlsse.data.build import build_curated, default_data_dir, write_build

    result = build_curated(external_dir=external)
    written = write_build(result, out if out is not None else default_data_dir())
    console = Console()
    console.print(render_data_card(result.card))
    if result.problems:
        console.print(f"[yellow]{len(result.problems)} source rows not used[/yellow] (listed with file and line in "
                      f"{written['problems']}):")
        for problem in result.problems[:10]:
            console.print(f"  {problem}", markup=False)
        if len(result.problems) > 10:
            console.print(f"  ... and {len(result.problems) - 10} more")
    console.print(f"wrote {written['curated']}", markup=False)


#: The ``mlsse data`` subcommands (registered with their error handling in :mod:`mlsse.cli`).
COMMANDS = {"build": build}


def render_data_card(card: dict):
    """Return the data card as a rich table.

    Parameters
    ----------
    card : dict
        A data card (:func:`mlsse.data.build.data_card`).

    Returns
    -------
    rich.table.Table
        Rows per source (with σ, with Ea, with a CIF, off room temperature, censored, compositions) and the
        first 15 families in the caption.
    """
    from rich.table import Table

    table = Table(title=f"curated data: {card['rows']} rows, {card['unique_compositions']} unique compositions, "
                        f"{card['duplicates_removed']} duplicates merged")
    for column in ("source", "rows", "with σ", "with Ea", "with CIF", "non-RT", "censored", "compositions"):
        table.add_column(column, justify="right" if column != "source" else "left")
    for source, row in card["per_source"].items():
        table.add_row(source, *(str(row[k]) for k in ("rows", "with_sigma", "with_ea", "with_cif",
                                                       "non_room_temperature", "censored", "unique_compositions")))
    families = ", ".join(f"{k} {v}" for k, v in list(card["per_family"].items())[:15])
    table.caption = f"families: {families}" + (" ..." if len(card["per_family"]) > 15 else "")
    return table
