"""Validation of a user's lab measurements before they enter the data store.

Every problem in the file is collected (row number as a spreadsheet shows it: header = line 1, and column),
so the user fixes the file once instead of once per error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.chemistry import (
    charge_balance_problem,
    composition_key,
    echo,
    formula_text,
    parse_composition,
)
from mlsse.data.cif import cif_problem, located_cif
from mlsse.data.schema import (
    STRUCTURE_VALUE_RANGES,
    additive_problem,
    cell_text,
    is_blank,
    misnamed_columns,
    structure_value_problem,
    to_curated_frame,
)
from mlsse.errors import DataError, MlsseError
from mlsse.io import file_sha256, read_table
from mlsse.temperature import MEASUREMENT_TEMPERATURE_RANGE_C, ROOM_TEMPERATURE_C, temperature_problem

REQUIRED_ANY = ("sigma_S_cm", "log10_sigma")
OPTIONAL = ["temperature_C", "ea_eV", "space_group_number", "a", "b", "c", "alpha", "beta", "gamma", "cif",
            "additive", "additive_wt_pct", "reference", "material", "family", "note", "allow_unbalanced"]
#: Cells of the ``allow_unbalanced`` column that mark a composition as meant although it is not charge balanced.
YES_CELLS = frozenset({"yes", "y", "true", "1", "x"})
NUMERIC = ["sigma_S_cm", "log10_sigma", "temperature_C", "ea_eV", "space_group_number", "a", "b", "c", "alpha",
           "beta", "gamma", "additive_wt_pct"]
#: Accepted ranges: σ in S/cm (exclusive low end), Ea in eV.
SIGMA_RANGE_S_CM = (0.0, 1.0)
EA_RANGE_EV = (0.0, 2.5)
#: A temperature column whose every value exceeds this (°C) was almost surely written in kelvin.
KELVIN_SUSPECT_C = 200.0


class ValidationError(MlsseError):
    """A lab file with problems; nothing of it was written.

    The message names the file, the number of problems, then each problem on a line of its own.

    Parameters
    ----------
    path : pathlib.Path
        The lab file.
    problems : list of DataError
        Every problem found, each with its line and column.

    Attributes
    ----------
    path : pathlib.Path
        As given.
    problems : list of DataError
        As given.
    """

    def __init__(self, path: Path, problems: list[DataError]):
        self.path = path
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s); nothing was written\n{lines}")


@dataclass
class LabBatch:
    """A validated lab file: its curated rows and its provenance.

    Attributes
    ----------
    path : pathlib.Path
        The lab file.
    sha256 : str
        SHA-256 hex digest of the file's bytes.
    rows : pandas.DataFrame
        The file's rows in curated form (``source = 'user'``).
    warnings : list of str
        Notes for the user that are not problems, e.g. columns not read.
    """

    path: Path
    sha256: str
    rows: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def validate_lab_file(path: str | Path, existing: pd.DataFrame | None = None, *, today: str = "",
                      allow_unbalanced: bool = False) -> LabBatch:
    """Check a lab CSV and return its rows in curated form, or raise listing every problem.

    Checks: readable UTF-8 CSV with at least one row; a ``composition`` column and ``sigma_S_cm`` or
    ``log10_sigma``; no column that looks like one read but is not (``Ea (eV)``, ``temperature_K``:
    :func:`~mlsse.data.schema.misnamed_columns`); formulas that pymatgen parses, that contain Li and that can be
    charge balanced (:func:`~mlsse.chemistry.charge_balance_problem`, so a typo such as ``Li3YCl`` for
    ``Li3YCl6`` is caught) unless ``allow_unbalanced`` or the row's ``allow_unbalanced`` cell (yes/y/true/1/x)
    says the formula is meant; numeric cells (blank-like ones such as ``NA`` are empty); a σ or an Ea in each
    row; 0 < σ ≤ 1 S/cm, and σ and log10 σ agreeing within 0.05 when both are given; 0 ≤ Ea ≤ 2.5 eV;
    temperatures from −273.15 to 1500 °C and not in kelvin (as a whole column, or a value like 298.15);
    space-group numbers and lattice constants (Å, degrees) a crystal can have
    (:func:`~mlsse.data.schema.structure_value_problem`); an additive that parses, with its wt% in [0, 100) and
    neither without the other; a ``cif`` that exists and parses (a relative path is looked up beside the lab
    file, then in the working directory, and stored absolute); no duplicate rows within the file; no exact
    duplicate of a row of ``existing`` (same composition up to scaling, σ, Ea and temperature). A row without a
    temperature is taken at 25 °C.

    Parameters
    ----------
    path : str or pathlib.Path
        The lab CSV.
    existing : pandas.DataFrame, optional
        Curated rows already in the data, to refuse exact duplicates of.
    today : str, optional
        ISO date recorded in each row's ``note``.
    allow_unbalanced : bool, default False
        Accept every formula that cannot be charge balanced.

    Returns
    -------
    LabBatch
        The rows (``source = 'user'``), the file's SHA-256, and the columns not read in ``warnings``.

    Raises
    ------
    ValidationError
        Listing every problem found, with line and column; nothing is written.
    """
    path = Path(path)
    try:
        raw = read_table(path)
    except DataError as exc:
        raise ValidationError(path, [exc]) from None
    problems = _header_problems(raw, path)
    if problems:  # the cell checks need the columns
        raise ValidationError(path, problems)
    values, problems = _numeric_values(raw, path)
    problems += _structure_problems(values, path)
    additive = raw["additive"].map(cell_text) if "additive" in raw.columns else pd.Series("", index=raw.index)
    problems += _additive_problems(additive, values["additive_wt_pct"], path)
    problems += _sigma_agreement_problems(values, path)
    problems += _kelvin_problems(raw, values["temperature_C"], path)
    existing_keys = _measurement_keys(existing) if existing is not None and len(existing) else set()
    records, found = _checked_rows(raw, values, additive, existing_keys, path, today, allow_unbalanced)
    problems += found
    if problems:
        raise ValidationError(path, problems)
    unread = [str(c) for c in raw.columns if c not in {"composition", *REQUIRED_ANY, *OPTIONAL}]
    notes = [f"column(s) {', '.join(repr(c) for c in unread)} not read"] if unread else []
    return LabBatch(path=path, sha256=file_sha256(path), rows=to_curated_frame(records), warnings=notes)


def _header_problems(raw: pd.DataFrame, path: Path) -> list[DataError]:
    """The columns: ``composition`` and a conductivity present, none misnamed, and at least one row."""
    problems = []
    if "composition" not in raw.columns:
        problems.append(DataError(f"missing column 'composition'; found {list(raw.columns)}", path=path, line=1))
    if not any(c in raw.columns for c in REQUIRED_ANY):
        problems.append(DataError("missing column 'sigma_S_cm' or 'log10_sigma'", path=path, line=1))
    for column, meant in misnamed_columns(list(raw.columns), ["composition", *REQUIRED_ANY, *OPTIONAL]):
        unit = ", in °C" if meant == "temperature_C" else ""
        problems.append(DataError(f"column {column!r} is not read: name it {meant!r}{unit}", path=path, line=1))
    if not len(raw):
        problems.append(DataError("no data rows", path=path, line=2))
    return problems


def _numeric_values(raw: pd.DataFrame, path: Path) -> tuple[dict[str, pd.Series], list[DataError]]:
    """Each :data:`NUMERIC` column as finite floats (NaN where blank or not a number), and the cells that are not."""
    problems = []
    values = {c: pd.Series(np.nan, index=raw.index) for c in NUMERIC}
    for column in NUMERIC:
        if column not in raw.columns:
            continue
        for index, cell in raw[column].items():
            if isinstance(cell, str) and cell.strip().lower() == "nan":
                # Written out, nan is a value someone computed, not a cell left empty: say so, do not guess.
                problems.append(DataError("'nan' is not a number: leave the cell empty if it was not measured",
                                          path=path, line=index + 2, column=column))
                continue
            if is_blank(cell):
                continue
            text = str(cell).strip()
            try:
                number = float(text)
            except ValueError:
                problems.append(DataError(f"{echo(text)} is not a number", path=path, line=index + 2, column=column))
                continue
            if not math.isfinite(number):  # a written nan is no blank: it would pass as "not given"
                problems.append(DataError(f"{echo(text)} is not a finite number", path=path, line=index + 2,
                                          column=column))
                continue
            values[column][index] = number
    return values, problems


def _structure_problems(values: dict[str, pd.Series], path: Path) -> list[DataError]:
    """Space-group numbers and lattice constants a crystal can have."""
    return [DataError(problem, path=path, line=index + 2, column=column)
            for column in STRUCTURE_VALUE_RANGES for index, value in values[column].items()
            if (problem := structure_value_problem(column, value)) is not None]


def _additive_problems(additive: pd.Series, wt: pd.Series, path: Path) -> list[DataError]:
    """An additive that parses, with its wt% in [0, 100), neither without the other."""
    problems = []
    for index, value in wt.items():
        if (problem := additive_problem(additive[index], value)) is not None:
            column = "additive_wt_pct" if problem.startswith("additive wt%") else "additive"
            problems.append(DataError(problem, path=path, line=index + 2, column=column))
    return problems


def _sigma_agreement_problems(values: dict[str, pd.Series], path: Path) -> list[DataError]:
    """σ and log10 σ agreeing within 0.05 when a row gives both."""
    sigma, log10_sigma = values["sigma_S_cm"], values["log10_sigma"]
    both = sigma.gt(0) & log10_sigma.notna()
    # 0.05 in log10 (12 % in σ) lets rounded values through, e.g. 1.5e-4 S/cm beside log10 σ = −3.8.
    return [DataError(f"sigma_S_cm {sigma[index]:g} and log10_sigma {log10_sigma[index]:g} disagree; give one",
                      path=path, line=index + 2, column="log10_sigma")
            for index in sigma.index[both & (np.log10(sigma.where(both, 1.0)) - log10_sigma).abs().gt(0.05)]]


def _kelvin_problems(raw: pd.DataFrame, temperature: pd.Series, path: Path) -> list[DataError]:
    """A temperature column written in kelvin as a whole (every value above :data:`KELVIN_SUSPECT_C`)."""
    if "temperature_C" in raw.columns and temperature.notna().any() and (temperature.dropna() > KELVIN_SUSPECT_C).all():
        return [DataError(f"every temperature is above {KELVIN_SUSPECT_C:g} °C (e.g. "
                          f"{temperature.dropna().iloc[0]:g}): this looks like kelvin; give °C (K − 273.15)",
                          path=path, line=1, column="temperature_C")]
    return []


def _checked_rows(raw: pd.DataFrame, values: dict[str, pd.Series], additive: pd.Series, existing_keys: set,
                  path: Path, today: str, allow_unbalanced: bool) -> tuple[list[dict], list[DataError]]:
    """Each row's curated record, and its problems: formula, values, temperature, CIF and duplicates."""
    sigma = values["sigma_S_cm"].copy()
    from_log = sigma.isna() & values["log10_sigma"].notna()
    sigma[from_log] = 10.0 ** values["log10_sigma"][from_log]
    temperature = values["temperature_C"]
    problems: list[DataError] = []
    keys: dict[tuple, int] = {}
    records = []
    for index, row in raw.iterrows():
        line = index + 2
        formula = str(row["composition"]).strip()
        try:
            parsed = parse_composition(formula)
        except ValueError as exc:
            problems.append(DataError(str(exc), path=path, line=line, column="composition"))
            continue
        composition = formula_text(parsed, pymatgen_order=True)
        meant = allow_unbalanced or cell_text(row.get("allow_unbalanced")).lower() in YES_CELLS
        problems += _formula_problems(formula, parsed, meant, path, line)
        s, ea, t = sigma[index], values["ea_eV"][index], temperature[index]
        problems += _value_problems(s, ea, t, "sigma_S_cm" if not from_log[index] else "log10_sigma", path, line)
        cif = cell_text(row.get("cif"))
        if cif:
            # Stored absolute: a later retrain may run from another directory.
            cif = located_cif(cif, path.parent, absolute=True)
            if (problem := cif_problem(cif)) is not None:
                where = " (looked beside the lab file and in the working directory)" if "not found" in problem else ""
                problems.append(DataError(f"cif {row['cif'].strip()!r}: {problem}{where}", path=path, line=line,
                                          column="cif"))
        t_effective = ROOM_TEMPERATURE_C if math.isnan(t) else t
        key = (composition_key(composition), _rounded(s), _rounded(ea), _rounded(t_effective))
        if key in keys:
            problems.append(DataError(f"duplicate of line {keys[key]}", path=path, line=line))
        else:
            keys[key] = line
        if key in existing_keys:
            problems.append(DataError("exact duplicate of a row already in the data", path=path, line=line))
        records.append({
            "composition": composition,
            "material": str(row.get("material", "") or formula),
            "sigma_S_cm": s,
            "temperature_C": t_effective,
            "ea_eV": ea,
            "space_group_number": values["space_group_number"][index],
            **{p: values[p][index] for p in ("a", "b", "c", "alpha", "beta", "gamma")},
            "cif": cif,
            "additive": additive[index],
            "additive_wt_pct": values["additive_wt_pct"][index],
            "family": str(row.get("family", "")),
            "source": "user",
            "reference": str(row.get("reference", "")).strip() or f"user:{path.name}",
            "value_origin": "table",
            "source_file": path.name,
            "source_line": line,
            "note": "; ".join(x for x in (str(row.get("note", "")).strip(),
                                          "temperature not given: 25 °C assumed" if math.isnan(t) else "",
                                          "charge balance not checked (allow_unbalanced)" if meant else "",
                                          f"added {today}" if today else "") if x),
        })
    return records, problems


def _formula_problems(formula: str, parsed, meant: bool, path: Path, line: int) -> list[DataError]:
    """A parsed formula with Li that can be charge balanced (unless ``meant``)."""
    problems = []
    if parsed["Li"] <= 0:
        problems.append(DataError(f"{formula!r} contains no Li", path=path, line=line, column="composition"))
    if not meant and (problem := charge_balance_problem(parsed)) is not None:
        problems.append(DataError(f"{formula!r} is {problem}: a typo? If it is meant, put yes in an "
                                  "allow_unbalanced column or pass --allow-unbalanced", path=path, line=line,
                                  column="composition"))
    return problems


def _value_problems(sigma: float, ea: float, temperature: float, sigma_column: str, path: Path,
                    line: int) -> list[DataError]:
    """A σ (S/cm) or an Ea (eV) given, each in range, and a temperature (°C) a measurement can have."""
    problems = []
    if math.isnan(sigma) and math.isnan(ea):
        problems.append(DataError("no conductivity (sigma_S_cm or log10_sigma) and no ea_eV", path=path,
                                  line=line, column=sigma_column))
    elif not math.isnan(sigma) and not (SIGMA_RANGE_S_CM[0] < sigma <= SIGMA_RANGE_S_CM[1]):
        problems.append(DataError(f"conductivity {sigma:g} S/cm outside 0 < σ ≤ 1 S/cm", path=path, line=line,
                                  column=sigma_column))
    if not math.isnan(ea) and not (EA_RANGE_EV[0] <= ea <= EA_RANGE_EV[1]):
        problems.append(DataError(f"Ea {ea:g} eV outside 0–2.5 eV", path=path, line=line, column="ea_eV"))
    if not math.isnan(temperature) and (
            problem := temperature_problem(temperature, *MEASUREMENT_TEMPERATURE_RANGE_C)) is not None:
        problems.append(DataError(problem, path=path, line=line, column="temperature_C"))
    return problems


def _rounded(value: float):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 9)


def _measurement_keys(table: pd.DataFrame) -> set[tuple]:
    keys = set()
    for composition, s, ea, t in zip(table["composition"], table["sigma_S_cm"], table["ea_eV"],
                                     table["temperature_C"]):
        try:
            keys.add((composition_key(composition), _rounded(s), _rounded(ea), _rounded(t)))
        except ValueError:
            continue
    return keys

