"""Loader for the OBELiX training split and its CIF archive.

Therrien et al., "OBELiX: A Curated Dataset of Crystal Structures and Experimentally Measured Ionic
Conductivities for Lithium Solid-State Electrolytes", arXiv:2502.14234. CC BY 4.0.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pandas as pd

from mlsse.chemistry import normalize_formula
from mlsse.data.cif import CIF_SEPARATOR, archive_members
from mlsse.data.references import normalize_doi
from mlsse.data.schema import parse_float, to_curated_frame
from mlsse.errors import DataError
from mlsse.io import read_table
from mlsse.paths import external_data_dir
from mlsse.temperature import ROOM_TEMPERATURE_C

OBELIX_FILE = "obelix_train.csv"
OBELIX_CIF_ARCHIVE = "obelix_train_cifs.tar.gz"
_CONDUCTIVITY = "Ionic conductivity (S cm-1)"
_REQUIRED = ["ID", "Reduced Composition", "True Composition", _CONDUCTIVITY, "Space group", "Space group #",
             "a", "b", "c", "alpha", "beta", "gamma", "Family", "DOI", "Cif ID"]


def load_obelix(external_dir: str | Path | None = None) -> tuple[pd.DataFrame, list[DataError]]:
    """Load the OBELiX training split as curated rows (``source = 'obelix'``).

    σ is in S/cm at room temperature (``temperature_C`` = 25 °C). ``<1E-10`` is kept as ``sigma_S_cm = 1e-10``
    with ``censored = True`` (a value below the detection limit); the model layer decides how to treat it.
    Rows with a CIF get ``cif = <archive>::train_randomized_cifs/ID.cif``, readable with
    :func:`mlsse.data.cif.read_cif_structure`; lattice constants are in Å and degrees.

    Parameters
    ----------
    external_dir : str or pathlib.Path, optional
        Directory of the public data files (:func:`mlsse.paths.external_data_dir`).

    Returns
    -------
    frame : pandas.DataFrame
        The curated rows.
    problems : list of DataError
        Rows that could not be read, and a missing or unreadable CIF archive (the rows then get no CIF).

    Raises
    ------
    DataError
        If the directory or the table is missing or unreadable, or lacks a required column.
    """
    directory = external_data_dir(external_dir)
    path = directory / OBELIX_FILE
    raw = read_table(path, required=_REQUIRED)
    archive = directory / OBELIX_CIF_ARCHIVE
    records, problems = [], []
    try:
        cif_members = archive_members(archive)
    except (OSError, EOFError, tarfile.TarError) as exc:  # the rows are still usable, without structures
        cif_members = frozenset()
        detail = " ".join(str(exc).split())  # tarfile lists every method it tried, one per line
        reason = "not found" if not archive.is_file() else f"unreadable ({detail})"
        problems.append(DataError(f"CIF archive {reason}: OBELiX rows get no CIF", path=archive))
    for index, row in raw.iterrows():
        line = int(index) + 2
        try:
            records.append(_obelix_record(row, line, path, archive, cif_members))
        except DataError as exc:
            problems.append(exc)
    return to_curated_frame(records), problems


def _obelix_record(row: pd.Series, line: int, path: Path, archive: Path, cif_members: frozenset[str]) -> dict:
    formula = row["Reduced Composition"].strip() or row["True Composition"].strip()
    try:
        composition = normalize_formula(formula)
    except Exception as exc:  # pymatgen raises several types for bad formulas
        raise DataError(f"cannot parse composition {formula!r}: {exc}", path=path, line=line,
                        column="Reduced Composition") from None
    raw_sigma = row[_CONDUCTIVITY].strip()
    censored = raw_sigma.startswith("<")
    sigma = parse_float(raw_sigma.lstrip("<"), path=path, line=line, column=_CONDUCTIVITY)
    kinds = [kind for kind, column in (("total", "IC (Total)"), ("bulk", "IC (Bulk)")) if row.get(column, "").strip()]
    member = f"train_randomized_cifs/{row['ID']}.cif"
    cif = f"{archive}{CIF_SEPARATOR}{member}" if member in cif_members else ""
    number = parse_float(row["Space group #"], path=path, line=line, column="Space group #")
    notes = [f"OBELiX ID {row['ID']}", "RT assumed 25 °C"]
    if row.get("note", "").strip():
        notes.append(row["note"].strip())
    return {
        "composition": composition,
        "material": formula,
        "sigma_S_cm": sigma,
        "temperature_C": ROOM_TEMPERATURE_C,
        "censored": censored,
        "space_group": row["Space group"].strip(),
        "space_group_number": None if pd.isna(number) else int(number),
        **{p: parse_float(row[p], path=path, line=line, column=p) for p in ("a", "b", "c", "alpha", "beta", "gamma")},
        "cif": cif,
        "family": row["Family"].strip(),
        "source": "obelix",
        "reference": normalize_doi(row["DOI"]),
        "value_origin": "table",
        "sigma_kind": "/".join(kinds) if kinds else "",
        "source_file": OBELIX_FILE,
        "source_line": line,
        "note": "; ".join(notes),
    }
