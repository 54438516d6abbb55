"""The project's own transcription of the three seed papers (``datasets/seed_literature.csv``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlsse.chemistry import normalize_formula
from mlsse.data.schema import parse_float, to_curated_frame
from mlsse.errors import DataError
from mlsse.io import read_table
from mlsse.paths import DATASETS_DIR

SEED_FILE = "seed_literature.csv"

#: Columns of ``seed_literature.csv``, in order. Units: S/cm, °C, eV, Å, degrees.
SEED_COLUMNS = [
    "material", "composition", "family", "space_group", "structure", "sigma_S_cm", "sigma_bound", "sigma_kind",
    "temperature_C", "ea_eV", "synthesis", "dopant", "dopant_site", "dopant_level", "dopant_level_unit",
    "additive", "additive_wt_pct", "a", "b", "c", "alpha", "beta", "gamma", "electronic_sigma_S_cm",
    "method", "value_origin", "orientation", "source", "note",
]
VALUE_ORIGINS = {"table", "text", "figure", "derived", "extrapolated-from-Arrhenius"}
METHODS = {"experiment", "calculation"}
SIGMA_BOUNDS = {"", "<", ">"}
_NUMERIC = ["sigma_S_cm", "temperature_C", "ea_eV", "dopant_level", "additive_wt_pct", "a", "b", "c", "alpha",
            "beta", "gamma", "electronic_sigma_S_cm"]


def read_seed_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check ``seed_literature.csv`` as transcribed.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The file; default ``datasets/seed_literature.csv``.

    Returns
    -------
    pandas.DataFrame
        All :data:`SEED_COLUMNS`, numbers parsed (S/cm, °C, eV, Å, degrees; NaN where empty).

    Raises
    ------
    DataError
        Naming the line and column of the first bad cell: a number that is not one, a ``value_origin``,
        ``method`` or ``sigma_bound`` outside its allowed values, or no ``source``.
    """
    path = Path(path) if path is not None else DATASETS_DIR / SEED_FILE
    table = read_table(path, required=SEED_COLUMNS)
    for index, row in table.iterrows():
        line = int(index) + 2
        for column in _NUMERIC:
            table.at[index, column] = parse_float(row[column], path=path, line=line, column=column)
        if row["value_origin"] not in VALUE_ORIGINS:
            raise DataError(f"value_origin {row['value_origin']!r} is not one of {sorted(VALUE_ORIGINS)}",
                            path=path, line=line, column="value_origin")
        for column, allowed in (("method", METHODS), ("sigma_bound", SIGMA_BOUNDS)):
            if row[column] not in allowed:
                raise DataError(f"{column} {row[column]!r} is not one of {sorted(allowed)}", path=path, line=line,
                                column=column)
        if not row["source"].strip():
            raise DataError("no source", path=path, line=line, column="source")
    for column in _NUMERIC:
        table[column] = pd.to_numeric(table[column])
    return table


def load_seed(path: str | Path | None = None) -> tuple[pd.DataFrame, list[DataError]]:
    """Load the seed transcription as curated rows (``source = 'seed'``).

    Rows without a composition (the paper gave no stoichiometry, e.g. LiBPON), without any ionic conductivity
    or Ea, with only a lower bound on σ, or holding a calculated (not measured) value stay in the seed file but
    are not rows of the curated table. An upper bound (``sigma_bound = '<'``) becomes a censored row, like
    OBELiX's ``<1E-10``.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The file; default ``datasets/seed_literature.csv``.

    Returns
    -------
    frame : pandas.DataFrame
        The curated rows.
    skipped : list of DataError
        The rows left out, each with its line, so the data card can count them.

    Raises
    ------
    DataError
        If the file fails :func:`read_seed_table`'s checks or a composition cannot be parsed.
    """
    path = Path(path) if path is not None else DATASETS_DIR / SEED_FILE
    table = read_seed_table(path)
    records, skipped = [], []
    for index, row in table.iterrows():
        line = int(index) + 2
        if not row["composition"].strip():
            skipped.append(DataError(f"no composition for {row['material']!r} (kept in seed only)", path=path,
                                     line=line, column="composition"))
            continue
        if pd.isna(row["sigma_S_cm"]) and pd.isna(row["ea_eV"]):
            skipped.append(DataError(f"no ionic conductivity or Ea for {row['material']!r}", path=path, line=line))
            continue
        if row["method"] != "experiment":
            skipped.append(DataError(f"{row['method']} value for {row['material']!r} is not a measurement",
                                     path=path, line=line, column="method"))
            continue
        if row["sigma_bound"] == ">":
            skipped.append(DataError(f"only a lower bound on sigma for {row['material']!r}", path=path, line=line,
                                     column="sigma_bound"))
            continue
        try:
            composition = normalize_formula(row["composition"])
        except Exception as exc:  # pymatgen raises several types for bad formulas
            raise DataError(f"cannot parse composition {row['composition']!r}: {exc}", path=path, line=line,
                            column="composition") from None
        records.append({
            "composition": composition,
            "material": row["material"],
            "sigma_S_cm": row["sigma_S_cm"],
            "temperature_C": row["temperature_C"],
            "ea_eV": row["ea_eV"],
            "censored": row["sigma_bound"] == "<",
            "space_group": row["space_group"],
            **{p: row[p] for p in ("a", "b", "c", "alpha", "beta", "gamma")},
            "cif": "",
            "family": row["family"],
            "source": "seed",
            "reference": row["source"],
            "value_origin": row["value_origin"],
            "sigma_kind": row["sigma_kind"],
            "synthesis": row["synthesis"],
            "additive": row["additive"],
            "additive_wt_pct": row["additive_wt_pct"],
            "dopant": row["dopant"],
            "dopant_site": row["dopant_site"],
            "dopant_level": row["dopant_level"],
            "dopant_level_unit": row["dopant_level_unit"],
            "source_file": SEED_FILE,
            "source_line": line,
            "note": "; ".join(x for x in (row["structure"], row["orientation"], row["note"]) if x),
        })
    return to_curated_frame(records), skipped
