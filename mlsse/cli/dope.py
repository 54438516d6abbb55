"""``mlsse dope``: scan dopants × levels on a host, rank them, explain why, write CSV/JSON and a plot."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Compensation(str, Enum):
    """Mirrors ``mlsse.doping.substitution.Compensation`` without importing pymatgen at start-up."""

    li = "li"
    vacancy = "vacancy"


def dope_command(
    host: Annotated[str, typer.Argument(help="Host composition, e.g. Li2ZrCl6.")],
    site: Annotated[str | None, typer.Option(help="Element whose site is doped, e.g. Cl or Zr (leave out, with "
                                            "--dopants, for an --additive series alone).")] = None,
    dopants: Annotated[str | None, typer.Option(help="Comma-separated dopants, e.g. N,F or Y,In,Sc (or N3-, "
                                                "Y3+).")] = None,
    levels: Annotated[str, typer.Option(help="start:stop:step or a comma list, per formula unit.")] = "0:0.3:0.05",
    compensation: Annotated[Compensation, typer.Option(help="Charge compensation.")] = Compensation.li,
    additive: Annotated[str | None, typer.Option(help="Composite additive, e.g. BaTiO3.")] = None,
    wt: Annotated[str | None, typer.Option(help="Additive wt% range start:stop:step, e.g. 0:20:2.5.")] = None,
    temperature_c: Annotated[float | None, typer.Option("--temperature-c", help="Also predict σ at this °C.")] = None,
    output: Annotated[Path, typer.Option(help="Ranked candidates, .csv or .json (missing folders are created)."
                                        )] = Path("scan.csv"),
    plot: Annotated[Path | None, typer.Option(help="Figure of σ and Ea vs level, .png, .svg, .pdf or another "
                                                   "format matplotlib writes (default: --output with .png).")
                    ] = None,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: the active model).")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Table with compositions, ΔEa and reasons (needs a wide "
                                       "terminal).")] = False,
) -> None:
    """Rank candidate dopings of HOST: which dopant, at which level, and which features say why."""
    from rich.console import Console
    from rich.table import Table

    from mlsse.cli.notes import printed_notes
    from mlsse.doping.plot import plot_formats, plot_scan
    from mlsse.doping.scanning import scan
    from mlsse.errors import MlsseError
    from mlsse.io import write_csv_atomic, write_text_atomic

    plot = plot or output.with_suffix(".png")
    # Checked before the scan runs, so a bad path costs no scan.
    if output.suffix.lower() not in (".csv", ".json"):
        raise MlsseError(f"--output {output}: give a .csv or .json file")
    if plot.suffix.lower() not in plot_formats():
        raise MlsseError(f"--plot {plot}: give a file ending in {', '.join(plot_formats())}")
    for path in (output, plot):
        if path.is_dir():
            raise MlsseError(f"{path}: is a directory, not a file")
    with printed_notes():
        result = scan(host, site or "", dopants or "", levels, compensation.value, additive, wt, temperature_c,
                      model)
    plot_path = plot_scan(result, plot)
    try:
        if output.suffix.lower() == ".json":
            write_text_atomic(result.to_json(orient="records", indent=1), output)
        else:
            write_csv_atomic(result, output)
    except BaseException:
        plot_path.unlink(missing_ok=True)  # both files or neither
        raise
    from rich import box

    composite = bool(additive)
    alone = composite and not site  # the additive series alone: every share is a candidate of its own
    title = (f"{host} + {additive}: every wt%" if alone
             else f"{host} ({site} site{f', + {additive}' if composite else ''}): best candidate per dopant")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    columns = ["rank", "dopant", "level", *(["wt%"] if composite else []), "Δ ±80 %", "model σ", "P>host", "dom."]
    if wide:
        columns[3:3] = ["composition"]
        columns += ["Δ Ea eV", "why (vs host)"]
    for column in columns:
        table.add_column(column, no_wrap=column != "why (vs host)")
    best = (result.sort_values(["rank", "additive_wt_pct"]) if alone
            else result.sort_values("rank").groupby("dopant", sort=False).head(1))
    for _, row in best.iterrows():
        host_row = row["versus_host"] == "host"
        width = (row["delta_log10_sigma_hi"] - row["delta_log10_sigma_lo"]) / 2
        cells = [str(row["rank"] if alone else row["dopant_rank"]), row["dopant_species"], f"{row['level']:g}",
                 *([f"{row['additive_wt_pct']:g}"] if composite else []),
                 "host" if host_row else f"{row['delta_log10_sigma']:+.2f} ±{width:.2f}", f"{row['sigma_S_cm']:.2g}",
                 "–" if host_row else f"{row['p_beats_host']:.2f}", "in" if row["in_domain"] else "OUT"]
        if wide:
            cells[3:3] = [row["composition"]]
            cells += ["host" if host_row else f"{row['delta_ea_eV']:+.3f}", row["reasons_up"] or "-"]
        table.add_row(*cells)
    console = Console()
    console.print(table)
    console.print("Δ: relative log10 σ (ranking) minus the host's at 25 °C, with its paired 80 % half-width, as "
                  "the plot and relative_log10_sigma in the output show it; model σ: the model's absolute value, "
                  "S/cm (predict gives a measured composition its measurement)"
                  + ("" if wide else "; --wide adds compositions, ΔEa and reasons"))
    # A composite candidate is named with its share: its composition alone is the host's.
    labels = [c + (f" + {w:g} wt% {a}" if isinstance(a, str) and a and w == w and w > 0 else "")
              for c, a, w in zip(result["composition"], result["additive"], result["additive_wt_pct"])]
    result = result.assign(label=labels)
    top = result.loc[result["rank"].idxmin()]
    tied = result[result["tied_with_best"] & result["versus_host"].ne("host")]
    names = ", ".join(dict.fromkeys(tied["label"]))
    names = names if len(names) < 400 else names[:400] + " …"
    if top["versus_host"] == "host":
        typer.echo("No candidate is predicted above the host."
                   + (f" The model cannot tell these from it: {names}" if len(tied) else ""))
    else:
        if top["versus_host"] == "cannot tell":
            width = top["delta_log10_sigma_hi"] - top["delta_log10_sigma"]
            typer.echo(f"The model cannot tell the best candidate, {top['label']}, from the host: its "
                       f"predicted change {top['delta_log10_sigma']:+.2f} is within ±{width:.2f} decades.")
        if len(tied):
            typer.echo(f"The model cannot tell these from the best, {top['label']} (their predicted changes "
                       f"are within the paired 80 % interval of a difference): {names}")
    typer.echo(f"wrote {output} ({len(result)} candidates) and {plot_path}")
