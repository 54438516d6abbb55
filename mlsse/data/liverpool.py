"""Loader for the Liverpool Ionics Dataset (temperature-resolved Li-ion conductivities).

Hargreaves et al., npj Comput. Mater. 9, 9 (2023). CC BY 4.0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlsse.chemistry import normalize_formula
from mlsse.data.references import normalize_doi
from mlsse.data.schema import parse_float, to_curated_frame
from mlsse.errors import DataError
from mlsse.io import read_table
from mlsse.paths import external_data_dir

LIVERPOOL_FILE = "liverpool_ionics.csv"
_REQUIRED = ["ID", "composition", "source", "temperature", "target", "family"]


def load_liverpool(external_dir: str | Path | None = None) -> tuple[pd.DataFrame, list[DataError]]:
    """Load the Liverpool Ionics rows as curated rows (``source = 'liverpool'``).

    Parameters
    ----------
    external_dir : str or pathlib.Path, optional
        Directory of the public data files (:func:`mlsse.paths.external_data_dir`).

    Returns
    -------
    frame : pandas.DataFrame
        Curated rows, one per material and temperature: σ in S/cm, ``temperature_C`` in °C.
    problems : list of DataError
        The rows that could not be read, each with its line.

    Raises
    ------
    DataError
        If the directory or the file is missing or unreadable, or lacks a required column.
    """
    path = external_data_dir(external_dir) / LIVERPOOL_FILE
    raw = read_table(path, required=_REQUIRED)
    records, problems = [], []
    for index, row in raw.iterrows():
        line = int(index) + 2
        try:
            records.append(_liverpool_record(row, line, path))
        except DataError as exc:
            problems.append(exc)
    return to_curated_frame(records), problems


def _liverpool_record(row: pd.Series, line: int, path: Path) -> dict:
    formula = row["composition"].strip().strip('"')
    try:
        composition = normalize_formula(formula)
    except Exception as exc:  # pymatgen raises several types for bad formulas
        raise DataError(f"cannot parse composition {formula!r}: {exc}", path=path, line=line,
                        column="composition") from None
    sigma = parse_float(row["target"], path=path, line=line, column="target")
    if not sigma > 0:
        raise DataError(f"conductivity {sigma} S/cm is not positive", path=path, line=line, column="target")
    temperature = parse_float(row["temperature"], path=path, line=line, column="temperature")
    family = row["family"].strip()
    chemical = row.get("ChemicalFamily", "").strip()
    return {
        "composition": composition,
        "material": formula,
        "sigma_S_cm": sigma,
        "temperature_C": temperature,
        "family": family,
        "source": "liverpool",
        "reference": normalize_doi(row["source"]),
        "value_origin": "table",
        "source_file": LIVERPOOL_FILE,
        "source_line": line,
        "note": f"Liverpool ID {row['ID']}" + (f"; chemical family {chemical}" if chemical else ""),
    }
