"""The prediction path shared by the Python API (``mlsse.predict``) and ``mlsse predict``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.models.predictor import OUTPUT_COLUMNS, Predictor

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
    """Turn a formula, a list of formulas / Compositions, or a DataFrame with a ``composition`` column into
    a query frame (a copy; the caller's object is never modified)."""
    from mlsse.errors import DataError

    if isinstance(data, pd.DataFrame):
        if "composition" not in data.columns:
            raise DataError(f"missing column 'composition'; found {list(data.columns)}")
        return data.copy()
    if isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
        data = [data]
    return pd.DataFrame({"composition": [str(getattr(item, "formula", item)) for item in data]})


def predict(data, temperature_c=None, model: str | Path | None = None) -> pd.DataFrame:
    """Predict log10 σ (S/cm), σ, Ea (eV), their 80 % intervals and the in-domain flag.

    ``data``: a formula, a list of formulas or pymatgen Compositions, or a DataFrame with a ``composition``
    column and optionally ``temperature_C``, ``space_group_number``, ``a``–``gamma``, ``cif``, ``additive``,
    ``additive_wt_pct``. ``temperature_c`` (°C) overrides the ``temperature_C`` column; without either σ is at
    25 °C. Returns every input column plus ``log10_sigma, log10_sigma_lo, log10_sigma_hi, sigma_S_cm, ea_eV,
    ea_lo, ea_hi, p_sigma_below_detection, in_domain, note`` (σ in S/cm, Ea in eV; the probability is that σ at
    25 °C is below a detection limit, reported as "<1E-10 S/cm"). A row that cannot be predicted keeps empty
    predictions and says why in ``note``; the other rows are still predicted.
    """
    from mlsse.data.schema import parse_composition

    predictor = load_predictor(model)
    query = as_query_frame(data)
    n = len(query)
    temperature = _temperatures(query, temperature_c)
    notes = [""] * n
    if temperature_c is None and "temperature_C" in query.columns:
        for i, cell in enumerate(query["temperature_C"]):
            if np.isnan(temperature[i]) and str(cell).strip() not in ("", "nan", "None", "<NA>"):
                notes[i] = f"temperature_C {str(cell).strip()!r} is not a number"
    elements: list[set[str] | None] = [None] * n
    for i, formula in enumerate(query["composition"].astype(str)):
        if notes[i]:
            continue
        try:
            elements[i] = {el.symbol for el in parse_composition(formula).elements}
        except ValueError as exc:
            notes[i] = str(exc)
            continue
        lo, hi = TEMPERATURE_RANGE_C
        if not np.isnan(temperature[i]) and not lo <= temperature[i] <= hi:
            hint = " (kelvin? give °C)" if temperature[i] > hi else ""
            notes[i] = f"temperature {temperature[i]:g} °C outside {lo:g}–{hi:g} °C{hint}"
    good = [i for i in range(n) if not notes[i]]
    result = pd.DataFrame({c: pd.Series([np.nan] * n, dtype=float) for c in OUTPUT_COLUMNS[:-2]})
    result["in_domain"] = pd.Series([pd.NA] * n, dtype="boolean")
    result["note"] = notes
    if good:
        from mlsse.features import featurize_table

        rows = query.iloc[good].reset_index(drop=True)
        features = featurize_table(_feature_input(rows))
        predicted = predictor.predict_features(features, [elements[i] for i in good], temperature[good])
        for column in OUTPUT_COLUMNS[:-1]:
            result.loc[good, column] = predicted[column].to_numpy()
        result.loc[good, "note"] = predicted["note"].to_numpy()
    out = query.reset_index(drop=True).copy()
    for column in OUTPUT_COLUMNS:
        out[column] = result[column]
    out.index = query.index
    return out


def _feature_input(rows: pd.DataFrame) -> pd.DataFrame:
    """The curated-style columns the featurizers read, empty where the query does not give them."""
    frame = pd.DataFrame({"composition": rows["composition"].astype(str)})
    for column in OPTIONAL_INPUT_COLUMNS:
        frame[column] = rows[column] if column in rows.columns else np.nan
    for column in ("cif", "additive", "synthesis"):
        frame[column] = frame[column].where(frame[column].notna(), "").astype(str)
    return frame


def _temperatures(query: pd.DataFrame, temperature_c) -> np.ndarray:
    if temperature_c is not None:
        return np.broadcast_to(np.asarray(temperature_c, dtype=float), (len(query),)).copy()
    if "temperature_C" in query.columns:
        return pd.to_numeric(query["temperature_C"], errors="coerce").to_numpy(dtype=float)
    return np.full(len(query), np.nan)
