"""Columns of the unified (curated) table and helpers every loader uses to fill them.

Units are in the names or fixed here: conductivities in S/cm, activation energies in eV, temperatures in °C,
lattice lengths ``a, b, c`` in ångström and angles ``alpha, beta, gamma`` in degrees.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from mlsse.chemistry import formula_text, parse_composition
from mlsse.errors import DataError

#: Column order of ``curated.csv``. Every loader returns a frame with exactly these columns.
CURATED_COLUMNS: list[str] = [
    "composition",          # pymatgen-parsable formula, normalised (see normalize_formula)
    "material",             # label as printed by the source
    "sigma_S_cm",           # Li-ion conductivity, S/cm (for censored rows: the detection limit)
    "log10_sigma",          # log10 of sigma_S_cm
    "temperature_C",        # measurement temperature, °C
    "ea_eV",                # activation energy, eV
    "censored",             # True when sigma is only known to be below sigma_S_cm ("<1E-10")
    "space_group",          # Hermann–Mauguin symbol as given
    "space_group_number",   # 1–230
    "a", "b", "c", "alpha", "beta", "gamma",
    "cif",                  # path to a CIF (inside an archive: archive.tar.gz::member) or empty
    "family",               # structural / chemical family as the source names it
    "source",               # seed / obelix / liverpool / laskowski / user
    "reference",            # DOI, or seed file + location
    "value_origin",         # table / text / figure / derived / extrapolated-from-Arrhenius / arrhenius-fit
    "sigma_kind",           # total / bulk / grain-boundary / ionic, when stated
    "synthesis",
    "additive", "additive_wt_pct",
    "dopant", "dopant_site", "dopant_level", "dopant_level_unit",
    "arrhenius_r2",         # R² of the Arrhenius fit behind an arrhenius-fit Ea
    "source_file",          # file the row was read from
    "source_line",          # 1-based line in that file (header = line 1)
    "batch",                # the lab batch a user row came in with (mlsse retrain), empty for the public data
    "note",
]

#: Accepted values of the structure columns: the space-group number (an integer, bounds included), lattice
#: lengths in Å and angles in degrees (bounds excluded).
STRUCTURE_VALUE_RANGES = {"space_group_number": (1, 230), "a": (0.0, 1000.0), "b": (0.0, 1000.0),
                          "c": (0.0, 1000.0), "alpha": (0.0, 180.0), "beta": (0.0, 180.0), "gamma": (0.0, 180.0)}


#: Spellings of one structural family across the sources → the one name ``curated.csv`` uses.
FAMILY_ALIASES = {
    "argyrodites": "argyrodite", "perovskites": "perovskite", "antiperovskite": "anti-perovskite",
    "halides": "halide", "chlorides": "chloride", "cholorides": "chloride", "fluorides": "fluoride",
    "hydrides": "hydride", "nitrides": "nitride", "oxides": "oxide", "sulfides": "sulfide",
    "phosphates": "phosphate", "nitridosilicates": "nitridosilicate",
}


def family_name(label: object) -> str:
    """Return the structural family as ``curated.csv`` spells it.

    Parameters
    ----------
    label : object
        The family as a source names it.

    Returns
    -------
    str
        Lower case, white space collapsed, one spelling per family (:data:`FAMILY_ALIASES`:
        ``Argyrodites`` → ``argyrodite``); empty stays empty.
    """
    name = " ".join(str(label).split()).lower()
    return FAMILY_ALIASES.get(name, name)


def empty_curated_frame() -> pd.DataFrame:
    """Return an empty frame with the curated columns."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CURATED_COLUMNS})


def to_curated_frame(records: list[dict]) -> pd.DataFrame:
    """Build a frame with exactly the curated columns from a list of records.

    Parameters
    ----------
    records : list of dict
        One dict per row, keyed by curated column names.

    Returns
    -------
    pandas.DataFrame
        The :data:`CURATED_COLUMNS` in order; missing columns are NaN, a missing ``log10_sigma`` is computed from
        a positive ``sigma_S_cm``, and ``censored`` is a bool column (True only where a record says so).
    """
    frame = pd.DataFrame.from_records(records) if records else empty_curated_frame()
    for column in CURATED_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    frame = frame[CURATED_COLUMNS].copy()
    if frame["log10_sigma"].isna().any():
        sigma = pd.to_numeric(frame["sigma_S_cm"], errors="coerce")
        frame["log10_sigma"] = frame["log10_sigma"].fillna(np.log10(sigma.where(sigma > 0)))
    frame["censored"] = frame["censored"].map(lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else False
                                              ).astype(bool)
    return frame


#: Cell texts that mean "no value" in an input table read as strings (compared stripped, in lower case).
BLANK_CELLS = frozenset({"", "nan", "none", "na", "n/a", "<na>", "null"})


def is_blank(cell) -> bool:
    """Return whether a table cell holds no value.

    Parameters
    ----------
    cell : object
        The cell.

    Returns
    -------
    bool
        True for None, NaN, ``pd.NA`` or a text in :data:`BLANK_CELLS` (stripped, any case).
    """
    if cell is None or cell is pd.NA or (isinstance(cell, float) and math.isnan(cell)):
        return True
    return str(cell).strip().lower() in BLANK_CELLS


def cell_text(cell) -> str:
    """Return a table cell's text, stripped.

    Parameters
    ----------
    cell : object
        The cell.

    Returns
    -------
    str
        The text; ``""`` for a blank cell (:func:`is_blank`).
    """
    return "" if is_blank(cell) else str(cell).strip()


def additive_problem(additive: str, wt_pct: float, pair_required: bool = True) -> str | None:
    """Return why a composite's additive and its weight fraction cannot be used, or None if they can.

    Parameters
    ----------
    additive : str
        The additive's formula, or ``""``; it must parse.
    wt_pct : float
        Its share, wt% (NaN if not given); it must lie in [0, 100).
    pair_required : bool, default True
        Refuse an additive without its wt% and a wt% without its additive.

    Returns
    -------
    str or None
        The problem, or None.
    """
    if not math.isnan(wt_pct) and not 0 <= wt_pct < 100:
        return f"additive wt% {wt_pct:g} outside [0, 100)"
    if pair_required and bool(additive) == math.isnan(wt_pct):
        return "an additive needs its wt%, and a wt% needs its additive"
    if additive:
        try:
            parse_composition(additive)
        except ValueError as exc:
            return f"additive: {exc}"
    return None


#: Column names (compared as :func:`misnamed_columns` does) that mean ``temperature_C`` or ``ea_eV`` but would not
#: be read as them.
COLUMN_ALIASES = {**dict.fromkeys(("t", "tk", "tc", "temp", "tempk", "tempc", "temperature", "temperaturek",
                                   "temperaturecelsius", "temperaturekelvin"), "temperature_C"),
                  **dict.fromkeys(("ea", "activationenergy", "activationenergyev"), "ea_eV")}


def misnamed_columns(columns, known) -> list[tuple[str, str]]:
    """Find columns that are not read but look like a column that is.

    A column looks like ``meant`` when its name is the same up to case, spaces and punctuation (``Ea (eV)``,
    ``sigma S/cm``), or is an alias in :data:`COLUMN_ALIASES` (``T``, ``temperature_K``, ``Temperature (°C)``).
    Single letters are not taken for the lattice constants (a user's ``C`` column is likelier carbon than
    ``c``).

    Parameters
    ----------
    columns : list
        The column names of a table.
    known : list of str
        The column names that are read.

    Returns
    -------
    list of (str, str)
        ``(column, meant)`` for each such column, in order; none when ``meant`` is itself among ``columns``.
    """
    def key(name) -> str:
        return re.sub(r"[^a-z0-9]", "", str(name).lower().replace("°", ""))

    lookup = {key(name): name for name in known if len(name) > 1}
    lookup.update({alias: meant for alias, meant in COLUMN_ALIASES.items() if meant in known})
    found = []
    for column in columns:
        meant = lookup.get(key(column))
        if meant is not None and column != meant and meant not in columns:
            found.append((str(column), meant))
    return found


def structure_value_problem(column: str, value: float) -> str | None:
    """Return why a value cannot be a crystal's space-group number or lattice constant, or None if it can.

    Parameters
    ----------
    column : str
        A key of :data:`STRUCTURE_VALUE_RANGES`: ``space_group_number``, ``a``, ``b``, ``c`` (Å) or ``alpha``,
        ``beta``, ``gamma`` (degrees).
    value : float
        The value, in the column's unit; NaN (not given) is accepted.

    Returns
    -------
    str or None
        The problem, or None.
    """
    if math.isnan(value):
        return None
    lo, hi = STRUCTURE_VALUE_RANGES[column]
    if column == "space_group_number":
        if value != int(value) or not lo <= value <= hi:
            return f"space-group number {value:g} is not an integer from {lo} to {hi}"
        return None
    if not lo < value < hi:
        unit = " Å" if column in ("a", "b", "c") else "°"
        return f"{column} = {value:g}{unit} is outside {lo:g}–{hi:g}{unit}"
    return None


def parse_float(text: object, *, path=None, line=None, column=None) -> float:
    """Parse a number from a data cell.

    Accepts the Unicode minus sign (U+2212) and stray combining overlines (U+0305) that PDF extraction leaves.

    Parameters
    ----------
    text : object
        The cell.
    path, line, column : optional
        Where the cell is, for the error message (as in :class:`~mlsse.errors.DataError`).

    Returns
    -------
    float
        The number; NaN for None, NaN or an empty cell.

    Raises
    ------
    DataError
        If the cell holds anything else that is not a number.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return math.nan
    s = str(text).replace("\u0305", "").replace("\u2212", "-").strip()
    if s == "":
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise DataError(f"{s!r} is not a number", path=path, line=line, column=column) from None


#: Optional structure / process columns a query may carry, used as features when present.
OPTIONAL_INPUT_COLUMNS = ["temperature_C", "space_group_number", "a", "b", "c", "alpha", "beta", "gamma", "cif",
                          "additive", "additive_wt_pct", "synthesis"]


def as_query_frame(data) -> pd.DataFrame:
    """Turn what a user asks about into a query frame with a ``composition`` column.

    Parameters
    ----------
    data : str, pymatgen.core.Composition, list, pandas.Series or pandas.DataFrame
        A formula or Composition, a list or Series of them, or a DataFrame with a ``composition`` column.
        Compositions are written as formulas with their amounts as given.

    Returns
    -------
    pandas.DataFrame
        A copy (the caller's object is never modified); a Series or DataFrame keeps its index.

    Raises
    ------
    DataError
        If a DataFrame has a column name twice or no ``composition`` column, or ``data`` is a dict or lists
        something other than formulas and Compositions.
    """
    from pymatgen.core import Composition

    if isinstance(data, pd.DataFrame):
        repeated = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        if repeated:
            raise DataError(f"column(s) {', '.join(repr(c) for c in repeated)} appear more than once")
        if "composition" not in data.columns:
            raise DataError(f"missing column 'composition'; found {list(data.columns)}")
        return data.copy()
    if isinstance(data, pd.Series):
        return pd.DataFrame({"composition": [_formula_text(item) for item in data]}, index=data.index)
    if isinstance(data, dict):  # iterating it would read its keys as formulas and drop its values unseen
        raise DataError("a dict is not a query: give a formula, a list of formulas, a pandas.Series or a "
                        "pandas.DataFrame (pandas.DataFrame(your_dict) for a dict of columns)")
    if isinstance(data, (str, bytes, Composition)) or not hasattr(data, "__iter__"):
        data = [data]
    items = list(data)
    bad = [item for item in items if not isinstance(item, (str, bytes, Composition)) and not hasattr(item, "formula")]
    if bad:
        kinds = sorted({type(item).__name__ for item in bad})
        raise DataError(f"a query lists formulas (str) or pymatgen Compositions, not {', '.join(kinds)}")
    return pd.DataFrame({"composition": [_formula_text(item) for item in items]})


def _formula_text(item) -> str:
    from pymatgen.core import Composition

    if isinstance(item, Composition):  # amounts as given, in the Composition's order: Li0.5La0.5TiO3
        return formula_text(item)
    return item.decode() if isinstance(item, bytes) else str(getattr(item, "formula", item))
