"""Validation of a user's lab measurements before they enter the data store.

Every problem in the file is collected (row number as a spreadsheet shows it: header = line 1, and column),
so the user fixes the file once instead of once per error.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.data.obelix import cif_file_path, located_cif
from mlsse.data.schema import (ASSUMED_ROOM_TEMPERATURE_C, STRUCTURE_VALUE_RANGES, composition_key, is_blank,
                               kelvin_temperature_problem, misnamed_columns, normalise_formula,
                               structure_value_problem, to_curated_frame)
from mlsse.errors import DataError, MlsseError

REQUIRED_ANY = ("sigma_S_cm", "log10_sigma")
OPTIONAL = ["temperature_C", "ea_eV", "space_group_number", "a", "b", "c", "alpha", "beta", "gamma", "cif",
            "additive", "additive_wt_pct", "reference", "material", "family", "note"]
NUMERIC = ["sigma_S_cm", "log10_sigma", "temperature_C", "ea_eV", "space_group_number", "a", "b", "c", "alpha",
           "beta", "gamma", "additive_wt_pct"]
#: Temperatures a measurement can have, °C (above absolute zero; the upper end well past any electrolyte's use).
TEMPERATURE_RANGE_C = (-273.15, 1500.0)
#: Accepted ranges: σ in S/cm (exclusive low end), Ea in eV.
SIGMA_RANGE_S_CM = (0.0, 1.0)
EA_RANGE_EV = (0.0, 2.5)
#: A temperature column whose every value exceeds this (°C) was almost surely written in kelvin.
KELVIN_SUSPECT_C = 200.0


class ValidationError(MlsseError):
    """A lab file with problems; ``problems`` lists each one (a ``DataError`` with line and column)."""

    def __init__(self, path: Path, problems: list[DataError]):
        self.path = path
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s); nothing was written\n{lines}")


@dataclass
class LabBatch:
    """A validated lab file: its curated rows and its provenance."""

    path: Path
    sha256: str
    rows: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def validate_lab_file(path: str | Path, existing: pd.DataFrame | None = None, *, today: str = "") -> LabBatch:
    """Check a lab CSV and return its rows in curated form; raise ``ValidationError`` listing every problem.

    Checks: readable UTF-8 CSV; a ``composition`` column and ``sigma_S_cm`` or ``log10_sigma``; formulas that
    pymatgen parses and that contain Li; numeric cells; 0 < σ ≤ 1 S/cm; 0 ≤ Ea ≤ 2.5 eV; space-group numbers and
    lattice constants a crystal can have (``structure_value_problem``); a temperature column that is not in
    kelvin (as a whole, and no value like 298.15: ``kelvin_temperature_problem``); no duplicate rows within the
    file; no exact duplicate of a row of ``existing`` (same composition up to scaling, σ and temperature).
    ``today`` (ISO date) is recorded in provenance.
    """
    from mlsse.data.io import read_table

    path = Path(path)
    try:
        raw = read_table(path)
    except DataError as exc:
        raise ValidationError(path, [exc]) from None
    problems: list[DataError] = []
    if "composition" not in raw.columns:
        problems.append(DataError(f"missing column 'composition'; found {list(raw.columns)}", path=path, line=1))
    if not any(c in raw.columns for c in REQUIRED_ANY):
        problems.append(DataError("missing column 'sigma_S_cm' or 'log10_sigma'", path=path, line=1))
    for column, meant in misnamed_columns(list(raw.columns), ["composition", *REQUIRED_ANY, *OPTIONAL]):
        unit = ", in °C" if meant == "temperature_C" else ""
        problems.append(DataError(f"column {column!r} is not read: name it {meant!r}{unit}", path=path, line=1))
    if not len(raw):
        problems.append(DataError("no data rows", path=path, line=2))
    if problems:
        raise ValidationError(path, problems)
    values = {c: pd.Series(np.nan, index=raw.index) for c in NUMERIC}
    for column in NUMERIC:
        if column not in raw.columns:
            continue
        for index, cell in raw[column].items():
            if is_blank(cell):
                continue
            text = str(cell).strip()
            try:
                values[column][index] = float(text)
            except ValueError:
                problems.append(DataError(f"{text!r} is not a number", path=path, line=index + 2, column=column))
    for column in STRUCTURE_VALUE_RANGES:
        for index, value in values[column].items():
            if (problem := structure_value_problem(column, value)) is not None:
                problems.append(DataError(problem, path=path, line=index + 2, column=column))
    for index, value in values["additive_wt_pct"].items():
        if not math.isnan(value) and not 0 <= value < 100:
            problems.append(DataError(f"additive {value:g} wt% outside 0–100 wt%", path=path, line=index + 2,
                                      column="additive_wt_pct"))
    sigma = values["sigma_S_cm"].copy()
    both = sigma.gt(0) & values["log10_sigma"].notna()
    for index in sigma.index[both & (np.log10(sigma.where(both, 1.0)) - values["log10_sigma"]).abs().gt(0.01)]:
        problems.append(DataError(f"sigma_S_cm {sigma[index]:g} and log10_sigma {values['log10_sigma'][index]:g} "
                                  "disagree; give one", path=path, line=index + 2, column="log10_sigma"))
    from_log = sigma.isna() & values["log10_sigma"].notna()
    sigma[from_log] = 10.0 ** values["log10_sigma"][from_log]
    temperature = values["temperature_C"]
    if "temperature_C" in raw.columns and temperature.notna().any() and (temperature.dropna() > KELVIN_SUSPECT_C).all():
        problems.append(DataError(f"every temperature is above {KELVIN_SUSPECT_C:g} °C (e.g. "
                                  f"{temperature.dropna().iloc[0]:g}): this looks like kelvin; give °C "
                                  f"(K − 273.15)", path=path, line=1, column="temperature_C"))
    keys: dict[tuple, int] = {}
    existing_keys = _measurement_keys(existing) if existing is not None and len(existing) else set()
    records = []
    for index, row in raw.iterrows():
        line = index + 2
        formula = str(row["composition"]).strip()
        try:
            composition = normalise_formula(formula)
        except ValueError as exc:
            problems.append(DataError(str(exc), path=path, line=line, column="composition"))
            continue
        if not _has_li(composition):
            problems.append(DataError(f"{formula!r} contains no Li", path=path, line=line, column="composition"))
        s, ea = sigma[index], values["ea_eV"][index]
        column = "sigma_S_cm" if not from_log[index] else "log10_sigma"
        if math.isnan(s) and math.isnan(ea):
            problems.append(DataError("no conductivity (sigma_S_cm or log10_sigma) and no ea_eV", path=path,
                                      line=line, column=column))
        elif not math.isnan(s) and not (SIGMA_RANGE_S_CM[0] < s <= SIGMA_RANGE_S_CM[1]):
            problems.append(DataError(f"conductivity {s:g} S/cm outside 0 < σ ≤ 1 S/cm", path=path, line=line,
                                      column=column))
        if not math.isnan(ea) and not (EA_RANGE_EV[0] <= ea <= EA_RANGE_EV[1]):
            problems.append(DataError(f"Ea {ea:g} eV outside 0–2.5 eV", path=path, line=line, column="ea_eV"))
        t = temperature[index]
        if not math.isnan(t) and not TEMPERATURE_RANGE_C[0] < t <= TEMPERATURE_RANGE_C[1]:
            problems.append(DataError(f"temperature {t:g} °C outside {TEMPERATURE_RANGE_C[0]:g}–"
                                      f"{TEMPERATURE_RANGE_C[1]:g} °C", path=path, line=line, column="temperature_C"))
        elif not math.isnan(t) and (problem := kelvin_temperature_problem(t)) is not None:
            problems.append(DataError(problem, path=path, line=line, column="temperature_C"))
        cif = "" if is_blank(row.get("cif")) else str(row["cif"]).strip()
        if cif:
            # Stored absolute: a later retrain may run from another directory.
            cif = located_cif(cif, path.parent, absolute=True)
            if not cif_file_path(cif).is_file():
                problems.append(DataError(f"cif {cif!r}: file not found", path=path, line=line, column="cif"))
        t_effective = ASSUMED_ROOM_TEMPERATURE_C if math.isnan(t) else t
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
            "additive": "" if is_blank(row.get("additive")) else str(row["additive"]).strip(),
            "additive_wt_pct": values["additive_wt_pct"][index],
            "family": str(row.get("family", "")),
            "source": "user",
            "reference": str(row.get("reference", "")).strip() or f"user:{path.name}",
            "value_origin": "table",
            "source_file": path.name,
            "source_line": line,
            "note": "; ".join(x for x in (str(row.get("note", "")).strip(),
                                          "temperature not given: 25 °C assumed" if math.isnan(t) else "",
                                          f"added {today}" if today else "") if x),
        })
    if problems:
        raise ValidationError(path, problems)
    return LabBatch(path=path, sha256=file_sha256(path), rows=to_curated_frame(records))


def _has_li(formula: str) -> bool:
    from pymatgen.core import Composition

    return Composition(formula)["Li"] > 0


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

