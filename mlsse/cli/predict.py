"""``mlsse predict``: σ, Ea, intervals and the in-domain flag for one formula or a CSV of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def predict_command(
    formulas: Annotated[list[str] | None, typer.Argument(help="One or more compositions, e.g. Li2.3ZrCl5.85N0.15 "
                                                         "Li6PS5Cl; '-' reads them from stdin, one per line.",
                                                         metavar="FORMULA", show_default=False)] = None,
    temperature: Annotated[str | None, typer.Option("--temperature-c", help="Temperature for σ, °C (default 25 "
                                                    "°C; with --input, only if the CSV has no temperature_C "
                                                    "values), or start:stop:step for an Arrhenius view of one "
                                                    "FORMULA (a table, and the figure with --plot).")] = None,
    plot: Annotated[Path | None, typer.Option(help="With --temperature-c start:stop:step: the Arrhenius figure "
                                              "(.png, .svg, .pdf, …).")] = None,
    input_csv: Annotated[Path | None, typer.Option("--input", help="CSV (or .parquet) with a 'composition' column "
                                                   "and optionally temperature_C (°C), space_group_number, a, b, c "
                                                   "(Å), alpha, beta, gamma (°), cif (a path, relative to the CSV's "
                                                   "folder or the working directory), additive (a formula, e.g. "
                                                   "BaTiO3) and additive_wt_pct (wt%); other columns are kept. Read, "
                                                   "predicted and written a chunk of rows at a time."
                                                   )] = None,
    output_csv: Annotated[Path | None, typer.Option("--output", help="Where to write the predictions: .csv, "
                                                    ".json (not with --input) or .parquet, by the suffix; also for "
                                                    "FORMULA; missing folders are created.")] = None,
    additive: Annotated[str | None, typer.Option(help="Composite additive of every FORMULA, e.g. BaTiO3 (with "
                                                 "--wt; a CSV gives additive and additive_wt_pct columns).")
                        ] = None,
    wt: Annotated[float | None, typer.Option(help="The additive's share, wt%.")] = None,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: the active model).")] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per chunk with --input.")] = 20_000,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the on-disk feature cache.")
                        ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress on stderr.")] = False,
) -> None:
    """Predict log10 σ (S/cm), σ at a temperature, and Ea (eV) with 80 % intervals and an in-domain flag."""
    from mlsse.cli.notes import printed_notes
    from mlsse.errors import MlsseError

    temperature_c, temperatures = _read_temperature(temperature)
    formulas = _read_formulas(formulas or [])
    if temperatures is not None and (len(formulas) != 1 or input_csv is not None):
        raise MlsseError("--temperature-c start:stop:step draws one FORMULA's Arrhenius view: give one formula")
    if plot is not None and temperatures is None:
        raise MlsseError("--plot draws an Arrhenius view: give --temperature-c start:stop:step")
    if plot is not None:
        from mlsse.doping.plot import plot_formats
        from mlsse.io import refuse_to_replace

        if plot.suffix.lower() not in plot_formats():
            raise MlsseError(f"--plot {plot}: give a file ending in {', '.join(plot_formats())}")
        refuse_to_replace(plot)  # before any work: a read-only or special file is refused now, not after
    if bool(formulas) == (input_csv is not None):
        raise MlsseError("give either FORMULA ... or --input CSV (with --output CSV)")
    if output_csv is not None:  # before predicting, not after
        check_output(output_csv, input_csv)
    if (additive is None) != (wt is None):
        raise MlsseError("--additive needs --wt (its wt%), and --wt needs --additive")
    if additive is not None and input_csv is not None:
        raise MlsseError("with --input, give the additive in the CSV's additive and additive_wt_pct columns")
    with printed_notes():
        if input_csv is not None:
            _predict_csv(input_csv, output_csv, temperature_c, model, chunk_rows, not no_cache, quiet)
        else:
            import pandas as pd

            query = pd.DataFrame({"composition": formulas, **({"additive": additive, "additive_wt_pct": wt}
                                                              if additive is not None else {})})
            if temperatures is not None:
                _predict_arrhenius(query, temperatures, model, output_csv, plot)
            elif len(formulas) == 1:
                _predict_one(query, temperature_c, model, output_csv)
            else:
                _predict_several(query, temperature_c, model, output_csv)


def check_output(output: Path, input_path: Path | None, formats: tuple[str, ...] | None = None) -> None:
    """Refuse, before any work, an output that names no format the command writes (``formats``; default: CSV
    or Parquet for a stream from ``input_path``, also JSON for formulas), or that would replace the input or
    something that is not a regular writable file."""
    import os

    from mlsse.errors import MlsseError
    from mlsse.io import refuse_to_replace, table_format

    if output.is_dir():
        raise MlsseError(f"{output}: is a directory, not a file")
    # A stream is written chunk by chunk: CSV or Parquet; a few formulas may also go to JSON.
    try:
        streamed = ("csv", "parquet") if input_path is not None else ("csv", "json", "parquet")
        table_format(output, formats or streamed)
    except ValueError as exc:
        raise MlsseError(f"--output {exc}") from None
    if input_path is not None:
        if input_path.is_dir():
            raise MlsseError(f"--input {input_path}: is a directory, not a file")
        if output.exists() and input_path.exists() and os.path.samefile(output, input_path):
            raise MlsseError(f"--output {output} is the input file: write the predictions elsewhere")
    refuse_to_replace(output)


def _read_temperature(text: str | None) -> tuple[float | None, list[float] | None]:
    """``--temperature-c``: one temperature (°C), or a start:stop:step range for an Arrhenius view."""
    from mlsse.doping.scanning import parse_levels
    from mlsse.errors import MlsseError

    if text is None:
        return None, None
    if ":" in text:
        try:
            return None, parse_levels(text, field="temperatures")
        except MlsseError as exc:
            raise MlsseError(f"--temperature-c {text}: {exc}") from None
    try:
        return float(text), None
    except ValueError:
        raise MlsseError(f"--temperature-c {text!r}: give °C, one number or start:stop:step") from None


def _predict_arrhenius(query, temperatures: list[float], model: Path | None, output: Path | None,
                       plot: Path | None) -> None:
    """One formula at each temperature: a table, the output file and the Arrhenius figure."""
    import pandas as pd
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from mlsse.api import predict
    from mlsse.errors import MlsseError
    from mlsse.io import write_table_atomic
    from mlsse.query import rounded_predictions

    label = _query_labels(query)[0]
    rows = pd.concat([query] * len(temperatures), ignore_index=True).assign(temperature_C=temperatures)
    result = predict(rows, model=model)
    predicted = result[result["log10_sigma"].notna()]
    if predicted.empty:
        raise MlsseError(f"{label}: no temperature could be predicted: {result['note'].iloc[0]}")
    table = Table(title=f"{label}: σ against temperature (80 % intervals)", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for column in ("T °C", "1000/T (1/K)", "σ S/cm", "80 %", "log10 σ"):
        table.add_column(column, no_wrap=True)
    notes = []
    for _, row in result.iterrows():
        if row["log10_sigma"] != row["log10_sigma"]:
            table.add_row(str(row["temperature_C"]), "", "–", "", "")
            notes.append(f"{row['temperature_C']} °C: {row['note']}")
            continue
        table.add_row(f"{row['temperature_C']:g}", f"{1000 / (row['temperature_C'] + 273.15):.3f}",
                      f"{row['sigma_S_cm']:.2g}", f"{row['sigma_lo_S_cm']:.0e}–{row['sigma_hi_S_cm']:.0e}",
                      f"{row['log10_sigma']:.2f}")
    console = Console()
    console.print(table)
    for note in notes:
        console.print(note)
    console.print(f"Ea {predicted['ea_eV'].iloc[0]:.3f} eV (80 %: {predicted['ea_lo'].iloc[0]:.3f}–"
                  f"{predicted['ea_hi'].iloc[0]:.3f}); σ(T) from σ(25 °C) and Ea through σT = A·exp(−Ea/kT)")
    if output is not None:
        write_table_atomic(rounded_predictions(result), output)
        console.print(f"written to {output}")
    if plot is not None:
        from mlsse.figures import plot_arrhenius

        plot_arrhenius(result, label, plot)
        console.print(f"figure: {plot}")


def _read_formulas(arguments: list[str]) -> list[str]:
    """The formulas asked for: the arguments, with '-' replaced by stdin's lines (blank lines and # comments
    skipped)."""
    import sys

    formulas = []
    for argument in arguments:
        if argument == "-":
            formulas += [line.strip() for line in sys.stdin if line.strip() and not line.lstrip().startswith("#")]
        else:
            formulas.append(argument)
    return formulas


def _predict_several(query, temperature_c: float | None, model: Path | None, output_csv: Path | None) -> None:
    """Several formulas: one model load, one table (a row each), and the notes of the rows that need one."""
    from rich.console import Console
    from rich.table import Table

    from mlsse.api import predict
    from mlsse.chemistry import echo
    from mlsse.io import write_table_atomic
    from mlsse.models.targets import DETECTION_LIMIT_LOG10_SIGMA
    from mlsse.query import rounded_predictions
    from mlsse.temperature import ROOM_TEMPERATURE_C

    result = predict(query, temperature_c=temperature_c, model=model)
    formulas = _query_labels(query)
    t = ROOM_TEMPERATURE_C if temperature_c is None else temperature_c
    from rich import box

    table = Table(title=f"{len(formulas)} compositions at {t:g} °C", show_header=True, box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.add_column("composition", no_wrap=True)
    # One line per formula on an 80-column terminal: the nearest compositions are in --output and the
    # one-formula view.
    for column in ("σ S/cm", "80 %", "Ea eV", "P<1e-10", "domain", "measured"):
        table.add_column(column, no_wrap=True)
    notes = []
    for formula, (_, row) in zip(formulas, result.iterrows()):
        if row["log10_sigma"] != row["log10_sigma"]:
            table.add_row(echo(formula, quoted=False), "–", "", "", "", "", "")
            notes.append(f"{echo(formula, quoted=False)}: {row['note']}")
            continue
        below = row["p_sigma_below_detection"] >= 0.5
        measured = row["measured_log10_sigma"]
        sigma = f"<{10 ** DETECTION_LIMIT_LOG10_SIGMA:.0e}" if below else f"{row['sigma_S_cm']:.2g}"
        table.add_row(
            echo(formula, quoted=False), sigma,
            f"{10 ** row['log10_sigma_lo']:.0e}–{10 ** row['log10_sigma_hi']:.0e}",
            f"{row['ea_eV']:.2f}", f"{row['p_sigma_below_detection']:.2f}", "in" if row["in_domain"] else "OUT",
            f"{_sigma_text(measured, short=True)} ({int(row['measured_papers'])})" if measured == measured else "–")
        # The measured value is in its column; what the note adds to it (papers disagree, ...) is said.
        measured_note = row["note"].startswith("measured:")
        # The references inside the measured part are "; "-joined too: what follows it starts after its ")".
        extra = (row["note"].split("); ", 1)[1] if "); " in row["note"] else "") if measured_note else row["note"]
        if extra:
            notes.append(f"{echo(formula, quoted=False)}: {extra}")
    console = Console()
    console.print(table)
    console.print("measured: median σ at room temperature in the training data (papers); the nearest measured "
                  "compositions are in --output")
    for note in notes:
        console.print(note)
    if output_csv is not None:
        write_table_atomic(rounded_predictions(result), output_csv)
        console.print(f"written to {output_csv}")


def _query_labels(query) -> list[str]:
    """Each query row as a chemist writes it: the formula, and a composite's share and additive after it."""
    if "additive" not in query:
        return query["composition"].tolist()
    return [f"{c} + {w:g} wt% {a}" for c, a, w in zip(query["composition"], query["additive"],
                                                     query["additive_wt_pct"])]


def _predict_one(query, temperature_c: float | None, model: Path | None, output_csv: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from mlsse.errors import MlsseError
    from mlsse.io import write_table_atomic
    from mlsse.query import predict_query, rounded_predictions
    from mlsse.workspace.registry import load_predictor

    predictor = load_predictor(model)
    predicted = predict_query(predictor, query, temperature_c)
    result = predicted.table
    formula = _query_labels(query)[0]
    row = result.iloc[0]
    if row["log10_sigma"] != row["log10_sigma"]:  # NaN: the row could not be predicted
        from mlsse.chemistry import echo

        raise MlsseError(f"{echo(formula, quoted=False)}: {row['note']}")
    from mlsse.models.targets import DETECTION_LIMIT_LOG10_SIGMA
    from mlsse.temperature import ROOM_TEMPERATURE_C

    t = ROOM_TEMPERATURE_C if temperature_c is None else temperature_c
    table = Table(title=f"{formula} at {t:g} °C", show_header=True)
    for column in ("quantity", "prediction", "80 % interval"):
        table.add_column(column)
    below = row["p_sigma_below_detection"] >= 0.5
    # A likely-censored σ has no meaningful number: say what is known, "below detection", with its probability.
    sigma_text = (f"below {10 ** DETECTION_LIMIT_LOG10_SIGMA:.0e} (p = {row['p_sigma_below_detection']:.2f})"
                  if below else f"{row['sigma_S_cm']:.3g}")
    table.add_row("σ (S/cm)", sigma_text,
                  f"{10 ** row['log10_sigma_lo']:.2g} – {10 ** row['log10_sigma_hi']:.2g}")
    table.add_row("log10 σ", "below −10" if below else f"{row['log10_sigma']:.2f}",
                  f"{row['log10_sigma_lo']:.2f} – {row['log10_sigma_hi']:.2f}")
    table.add_row("Ea (eV)", f"{row['ea_eV']:.3f}", f"{row['ea_lo']:.3f} – {row['ea_hi']:.3f}")
    # The probability that σ at 25 °C is too low to measure; a probability has no interval.
    table.add_row("P(σ₂₅ below 1e-10 S/cm)", f"{row['p_sigma_below_detection']:.2f}", "–")
    table.add_row("in domain", "yes" if row["in_domain"] else "NO", row["note"] or "")
    console = Console()
    console.print(table)
    console.print(_evidence_table(row))
    reasons = predictor.top_contributions(query, k=3, features=predicted.features)[0]
    console.print("features that pushed log10 σ most: "
                  + "; ".join(f"{name} = {'unknown' if value != value else f'{value:.3g}'} ({push:+.2f})"
                              for name, value, push in reasons))
    if output_csv is not None:
        write_table_atomic(rounded_predictions(result), output_csv)
        console.print(f"written to {output_csv}")


def _evidence_table(row):
    """What the training data holds on this composition and its nearest measured neighbours (log10 S/cm at 25 °C)."""
    from rich.table import Table

    table = Table(title="what the training data holds (σ at room temperature)", show_header=True)
    for column in ("composition", "measured σ (S/cm)", "papers", "distance", "references"):
        table.add_column(column)
    measured = row["measured_log10_sigma"]
    if measured == measured:
        table.add_row("this one", _sigma_text(measured), f"{int(row['measured_papers'])}", "0",
                      row["measured_references"])
    else:
        table.add_row("this one", "not measured", "0", "–", "")
    for k in range(1, 4):
        name = row.get(f"nearest_{k}", "")
        if isinstance(name, str) and name:
            table.add_row(name, _sigma_text(row[f"nearest_{k}_log10_sigma"]), "",
                          f"{row[f'nearest_{k}_distance']:.3f}", row[f"nearest_{k}_reference"])
    return table


def _sigma_text(log10_sigma: float, short: bool = False) -> str:
    """A measured log10 σ (log10 S/cm) as σ in S/cm, or "below 1e-10" for a censored one."""
    from mlsse.models.targets import DETECTION_LIMIT_LOG10_SIGMA

    below = f"{'<' if short else 'below '}{10 ** DETECTION_LIMIT_LOG10_SIGMA:.0e}"
    return below if log10_sigma < DETECTION_LIMIT_LOG10_SIGMA else f"{10 ** log10_sigma:.2g}"


def _predict_csv(input_csv: Path, output_csv: Path | None, temperature_c: float | None, model: Path | None,
                 chunk_rows: int, cache: bool, quiet: bool) -> None:
    from mlsse.batch import predict_file
    from mlsse.cli.terminal_progress import TerminalProgress
    from mlsse.errors import MlsseError

    if output_csv is None:
        raise MlsseError("--input needs --output CSV")
    with TerminalProgress(quiet=quiet) as progress:
        summary = predict_file(input_csv, output_csv, temperature_c, model, chunk_rows=chunk_rows, cache=cache,
                               progress=progress)
    failed = summary.rows - summary.predicted
    typer.echo(f"predicted {summary.predicted} of {summary.rows} rows -> {output_csv}"
               + (f" ({failed} rows not predicted: see 'note')" if failed else ""))
