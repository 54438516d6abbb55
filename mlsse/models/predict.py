"""The prediction path shared by the Python API (``mlsse.predict``) and ``mlsse predict``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.data.arrhenius import KELVIN_OFFSET
from mlsse.models.predictor import OUTPUT_COLUMNS, REFERENCE_TEMPERATURE_C, Predictor

#: Temperatures (°C) accepted for a prediction; outside, the row is refused with a note.
TEMPERATURE_RANGE_C = (-100.0, 600.0)
#: Optional structure / process columns a query may carry, used as features when present.
OPTIONAL_INPUT_COLUMNS = ["temperature_C", "space_group_number", "a", "b", "c", "alpha", "beta", "gamma", "cif",
                          "additive", "additive_wt_pct", "synthesis"]


def default_model_dir() -> Path:
    """Return the directory of the model used when none is named: the user's active version if one is
    selected, else the shipped ``models/default``."""
    from mlsse.models.registry import active_model_name, model_dir

    return model_dir(active_model_name())


@lru_cache(maxsize=4)
def _load(directory: str) -> Predictor:
    return Predictor.load(directory)


def load_predictor(model: str | Path | None = None) -> Predictor:
    """Load (once per process) the model at ``model`` (a directory), or the default model."""
    directory = Path(model) if model is not None else default_model_dir()
    return _load(str(directory.resolve()))


def as_query_frame(data) -> pd.DataFrame:
    """Turn a formula or pymatgen Composition, a list / Series of them, or a DataFrame with a ``composition``
    column into a query frame (a copy; the caller's object is never modified). A Series or DataFrame keeps its
    index."""
    from pymatgen.core import Composition

    from mlsse.errors import DataError

    if isinstance(data, pd.DataFrame):
        repeated = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        if repeated:
            raise DataError(f"column(s) {', '.join(repr(c) for c in repeated)} appear more than once")
        if "composition" not in data.columns:
            raise DataError(f"missing column 'composition'; found {list(data.columns)}")
        return data.copy()
    if isinstance(data, pd.Series):
        return pd.DataFrame({"composition": [_formula_text(item) for item in data]}, index=data.index)
    if isinstance(data, (str, bytes, Composition)) or not hasattr(data, "__iter__"):
        data = [data]
    return pd.DataFrame({"composition": [_formula_text(item) for item in data]})


def _formula_text(item) -> str:
    return item.decode() if isinstance(item, bytes) else str(getattr(item, "formula", item))


def predict(data, temperature_c=None, model: str | Path | None = None, *,
            cif_dir: str | Path | None = None) -> pd.DataFrame:
    """Predict log10 σ (S/cm), σ, Ea (eV), their 80 % intervals and the in-domain flag.

    ``data``: a formula or pymatgen Composition, a list or Series of them, or a DataFrame with a ``composition``
    column and optionally ``temperature_C``, ``space_group_number``, ``a``–``gamma`` (Å, degrees), ``cif`` (a
    path; a relative one is looked up in ``cif_dir`` first, then in the working directory), ``additive``,
    ``additive_wt_pct``. The temperature (°C) for σ comes from ``temperature_c`` (one number, or one per row) or
    from the ``temperature_C`` column, not both; without either, or for an empty cell, σ is at 25 °C.

    Returns every input column plus ``temperature_C`` (the temperature used, when the input has no such column)
    and ``log10_sigma, log10_sigma_lo, log10_sigma_hi, sigma_S_cm, ea_eV, ea_lo, ea_hi, p_sigma_below_detection,
    in_domain, note`` (σ in S/cm, Ea in eV; the probability is that σ at 25 °C is below 1e-10 S/cm, what papers
    report as "<1E-10"). An input column with one of those names is kept as ``<name>_input`` (with an
    ``MlsseWarning``). A row that cannot be predicted (bad formula, temperature, space group, lattice constant or
    CIF) keeps empty predictions and says why in ``note``; the other rows are still predicted. A problem with
    the whole query (duplicate or misspelt columns, a temperature given twice or not a number) raises
    ``DataError``.
    """
    from mlsse.data.schema import parse_composition

    predictor = load_predictor(model)
    query = as_query_frame(data)
    _check_column_names(query)
    n = len(query)
    temperature = _temperatures(query, temperature_c)
    notes = [""] * n
    elements: list[set[str] | None] = [None] * n
    for i, formula in enumerate(query["composition"].astype(str)):
        try:
            elements[i] = {el.symbol for el in parse_composition(formula).elements}
        except ValueError as exc:
            notes[i] = str(exc)
            continue
        notes[i] = _row_problem(query, i, temperature[i]) or ""
    good = [i for i in range(n) if not notes[i]]
    result = pd.DataFrame({c: pd.Series([np.nan] * n, dtype=float) for c in OUTPUT_COLUMNS[:-2]})
    result["in_domain"] = pd.Series([pd.NA] * n, dtype="boolean")
    result["note"] = notes
    if good:
        from mlsse.features import featurize_table

        features = featurize_table(_feature_input(query.iloc[good].reset_index(drop=True), cif_dir), errors="nan")
        problems = features.pop("error").to_numpy()
        for i, problem in zip(good, problems):
            notes[i] = problem
        ok = problems == ""
        good = [i for i, usable in zip(good, ok) if usable]
        result["note"] = notes
        if good:
            predicted = predictor.predict_features(features[ok].reset_index(drop=True),
                                                   [elements[i] for i in good], temperature[good])
            for column in OUTPUT_COLUMNS[:-1]:
                result.loc[good, column] = predicted[column].to_numpy()
            result.loc[good, "note"] = predicted["note"].to_numpy()
    out = query.reset_index(drop=True).rename(columns=_kept_input_names(query.columns))
    if "temperature_C" not in query.columns:
        out["temperature_C"] = np.where(np.isnan(temperature), REFERENCE_TEMPERATURE_C, temperature)
    for column in OUTPUT_COLUMNS:
        out[column] = result[column]
    out.index = query.index
    return out


def _kept_input_names(columns) -> dict[str, str]:
    """Input columns named like an output column → the name they are kept under (``<name>_input``)."""
    import warnings

    from mlsse.errors import MlsseWarning

    renamed = {}
    for column in columns:
        if column in OUTPUT_COLUMNS:
            name = f"{column}_input"
            while name in columns:
                name += "_input"
            renamed[column] = name
    if renamed:
        warnings.warn("input column(s) named like a prediction column kept as "
                      + ", ".join(f"{old!r} → {new!r}" for old, new in renamed.items()), MlsseWarning, stacklevel=3)
    return renamed


#: Column names that are not read but look like one that is (lower case) → the name mlsse reads.
_NEAR_MISSES = {**{c.lower(): c for c in ["composition", *OPTIONAL_INPUT_COLUMNS]},
                "temperature": "temperature_C", "temperature_k": "temperature_C"}


def _check_column_names(query: pd.DataFrame) -> None:
    """Raise ``DataError`` for a column that mlsse would not read but that looks like one it reads, so a
    ``temperature_c`` or ``Space_Group_Number`` column is not silently ignored."""
    from mlsse.errors import DataError

    for column in query.columns:
        meant = _NEAR_MISSES.get(str(column).strip().lower())
        if meant is not None and column != meant and meant not in query.columns:
            unit = " in °C" if meant == "temperature_C" else ""
            raise DataError(f"column {column!r} is not read: name it {meant!r}{unit}")


#: Temperatures (°C) refused as room temperature written in kelvin: ``ROOM_TEMPERATURE_C`` (15–35 °C) in K.
KELVIN_ROOM_TEMPERATURE = (288.0, 308.15)


def _row_problem(query: pd.DataFrame, i: int, temperature: float) -> str | None:
    """Return why row ``i`` (its formula parsed) cannot be predicted: its temperature or structure cells."""
    from mlsse.data.schema import STRUCTURE_VALUE_RANGES, structure_value_problem

    if "temperature_C" in query.columns and np.isnan(temperature):
        cell = query["temperature_C"].iloc[i]
        if _given(cell):
            return f"temperature_C {str(cell).strip()!r} is not a number"
    if not np.isnan(temperature):
        lo, hi = TEMPERATURE_RANGE_C
        if not lo <= temperature <= hi:
            hint = " (kelvin? give °C)" if temperature > hi else ""
            return f"temperature {temperature:g} °C outside {lo:g}–{hi:g} °C{hint}"
        celsius = temperature - KELVIN_OFFSET
        if (KELVIN_ROOM_TEMPERATURE[0] <= temperature <= KELVIN_ROOM_TEMPERATURE[1]
                or (celsius >= 0 and abs(celsius - round(celsius)) < 1e-6)):
            return f"temperature {temperature:g} °C looks like kelvin ({temperature:g} K = {celsius:g} °C): give °C"
    for column in STRUCTURE_VALUE_RANGES:
        if column not in query.columns or not _given(cell := query[column].iloc[i]):
            continue
        try:
            value = float(str(cell).strip())
        except ValueError:
            return f"{column} {str(cell).strip()!r} is not a number"
        if (problem := structure_value_problem(column, value)) is not None:
            return problem
    return None


def _given(cell) -> bool:
    """Whether a cell holds a value (not empty / NaN / None)."""
    return not (cell is None or (isinstance(cell, float) and np.isnan(cell))
                or str(cell).strip() in ("", "nan", "None", "<NA>"))


def _feature_input(rows: pd.DataFrame, cif_dir: str | Path | None = None) -> pd.DataFrame:
    """The curated-style columns the featurizers read, empty where the query does not give them; relative CIF
    paths found in ``cif_dir`` point there."""
    frame = pd.DataFrame({"composition": rows["composition"].astype(str)})
    for column in OPTIONAL_INPUT_COLUMNS:
        frame[column] = rows[column] if column in rows.columns else np.nan
    for column in ("cif", "additive", "synthesis"):
        frame[column] = frame[column].where(frame[column].map(_given), "").astype(str).str.strip()
    if cif_dir is not None:
        frame["cif"] = [_located_cif(cif, Path(cif_dir)) for cif in frame["cif"]]
    return frame


def _located_cif(cif: str, cif_dir: Path) -> str:
    """``cif`` with a relative file path (before any ``::member``) pointing into ``cif_dir`` if it exists there."""
    from mlsse.data.obelix import CIF_SEPARATOR

    path, separator, member = cif.partition(CIF_SEPARATOR)
    if not path or Path(path).is_absolute() or not (cif_dir / path).exists():
        return cif
    return str(cif_dir / path) + separator + member


def _temperatures(query: pd.DataFrame, temperature_c) -> np.ndarray:
    """Return the asked temperature of each row (°C; NaN = not given, σ at 25 °C)."""
    from mlsse.errors import DataError

    column = query["temperature_C"] if "temperature_C" in query.columns else None
    if temperature_c is None:
        if column is None:
            return np.full(len(query), np.nan)
        return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    if column is not None and column.map(_given).any():
        raise DataError("the temperature is given twice, as temperature_c (--temperature-c) and in the "
                        "temperature_C column: give one")
    try:
        values = np.asarray(temperature_c, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"temperature {temperature_c!r} is not a number (°C)") from None
    if values.ndim == 0:
        if not np.isfinite(values):
            raise DataError(f"temperature {float(values)!r} °C is not a finite number")
        return np.full(len(query), float(values))
    if values.shape != (len(query),):
        raise DataError(f"temperature_c has {values.size} values for {len(query)} rows")
    return values.copy()
