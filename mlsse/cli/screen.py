"""``mlsse screen``: predict a whole doping space (hosts × sites × dopants × levels) into Parquet, with
acquisition scores, and pick the next experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def screen_command(
    hosts: Annotated[list[str] | None, typer.Argument(help="Host compositions, e.g. Li3YCl6 Li6PS5Cl.")] = None,
    spec: Annotated[Path | None, typer.Option(help="A TOML or YAML file with levels, compensation and hosts with "
                                              "their sites and dopants (instead of HOSTS and the options below).")
                    ] = None,
    sites: Annotated[str | None, typer.Option(help="Comma-separated sites, e.g. Y,Zr,Cl (each host uses those it "
                                              "has).")] = None,
    dopants: Annotated[str | None, typer.Option(help="Comma-separated dopants for every site, e.g. Sc,In,Br.")
                       ] = None,
    levels: Annotated[str, typer.Option(help="start:stop:step or a comma list, per formula unit (0 left out).")
                      ] = "0.01:0.5:0.01",
    compensation: Annotated[str, typer.Option(help="li, vacancy, or li,vacancy.")] = "li",
    output: Annotated[Path, typer.Option(help="The Parquet file of every candidate.")] = Path("screen.parquet"),
    top: Annotated[int, typer.Option(min=0, help="Also write the K best for the next experiments, diverse across "
                                     "hosts and dopants, with their reasons.")] = 0,
    top_output: Annotated[Path | None, typer.Option(help="CSV of the --top picks (default: --output with "
                                                    "'-top.csv').")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Local worker processes (default: the CPUs).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="A Dask scheduler address, e.g. tcp://10.0.0.5:8786: run "
                                                  "the chunks there instead.")] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Candidates per chunk.")] = 10_000,
    kappa: Annotated[float, typer.Option(help="Weight of the spread in ucb_log10_sigma.")] = 2.0,
    max_candidates: Annotated[int, typer.Option("--max-candidates", min=1, help="Refuse a larger doping space "
                                                "(counted before any candidate is built).")] = 5_000_000,
    include_out_of_domain: Annotated[bool, typer.Option("--include-out-of-domain", help="Let out-of-domain "
                                                        "candidates be picked (their UCB is the top of a wide "
                                                        "interval).")] = False,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: the active model).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr.")] = False,
) -> None:
    """Screen every doping of HOSTS: predict, score (UCB, P(beats host), Pareto) and pick the next experiments."""
    from mlsse.cli.notes import printed_notes
    from mlsse.cli.terminal_progress import TerminalProgress
    from mlsse.doping.screening import screen
    from mlsse.doping.space import build_spec, read_spec
    from mlsse.errors import MlsseError
    from mlsse.io import is_parquet, write_csv_atomic

    if not is_parquet(output):
        raise MlsseError(f"--output {output}: give a .parquet file")
    top_output = top_output or output.with_name(output.stem + "-top.csv")
    for path in (output, top_output):
        if path.is_dir():
            raise MlsseError(f"{path}: is a directory, not a file")
    if (spec is None) == (not hosts):
        raise MlsseError("give HOSTS with --sites and --dopants, or --spec FILE")
    if spec is not None:
        space = read_spec(spec)
    else:
        if not sites or not dopants:
            raise MlsseError("HOSTS need --sites and --dopants")
        site_list = [s.strip() for s in sites.split(",") if s.strip()]
        dopant_list = [d.strip() for d in dopants.split(",") if d.strip()]
        space = build_spec({host: {site: dopant_list for site in site_list} for host in hosts}, levels,
                           [c.strip() for c in compensation.split(",") if c.strip()], absent_sites="skip")
    with printed_notes(), TerminalProgress(quiet=quiet) as progress:
        progress.message(f"{space.n_candidates} candidates in {len(space.sweeps)} sweeps"
                         + (f"; {len(space.refused)} sweeps cannot be built" if space.refused else ""))
        summary = screen(space, output, model, top=top, chunk_rows=chunk_rows, workers=workers,
                         scheduler=scheduler, kappa=kappa, include_out_of_domain=include_out_of_domain,
                         max_candidates=max_candidates, progress=progress)
    for reason in space.refused[:10]:
        typer.echo(f"note: not screened: {reason}", err=True)
    if len(space.refused) > 10:
        typer.echo(f"note: and {len(space.refused) - 10} more sweeps not screened", err=True)
    typer.echo(f"screened {summary.candidates} candidates: {summary.written} built, {summary.predicted} predicted "
               f"-> {output}")
    if summary.top is not None:
        write_csv_atomic(summary.top, top_output)
        _print_picks(summary.top, include_out_of_domain)
        typer.echo(f"top {len(summary.top)} -> {top_output}")


def _print_picks(picks, include_out_of_domain: bool) -> None:
    """The picks as a table that fits an 80-column terminal (every column is in the CSV)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title="picks for the next experiments" + ("" if include_out_of_domain else " (in domain)"),
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("pick", "composition", "host", "σ S/cm", "UCB S/cm", "P>host", "dom."):
        table.add_column(column, no_wrap=True)
    for _, row in picks.iterrows():
        table.add_row(str(row["pick"]), row["composition"], row["host"], f"{10 ** row['log10_sigma']:.2g}",
                      f"{10 ** row['ucb_log10_sigma']:.2g}", f"{row['p_beats_host']:.2f}",
                      "in" if row["in_domain"] else "OUT")
    Console().print(table)
