"""The prediction path shared by the Python API (``mlsse.predict``) and ``mlsse predict``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.models.predictor import OUTPUT_COLUMNS, empty_output
from mlsse.temperature import KELVIN_OFFSET, ROOM_TEMPERATURE_C

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

    from mlsse.chemistry import formula_text

    if isinstance(item, Composition):  # amounts as given, in the Composition's order: Li0.5La0.5TiO3
        return formula_text(item)
    return item.decode() if isinstance(item, bytes) else str(getattr(item, "formula", item))


def predict(data, temperature_c=None, model: str | Path | None = None, *,
            cif_dir: str | Path | None = None) -> pd.DataFrame:
    """Predict log10 σ (S/cm), σ, Ea (eV), their 80 % intervals and the in-domain flag.

    A row that cannot be predicted (bad formula, temperature, additive, space group, lattice constant or CIF)
    keeps empty predictions and says why in ``note``; the other rows are still predicted. A temperature such as
    298.15 (a whole number of degrees above 273.15, the trace of a conversion to kelvin) is refused for its row;
    any other in 288–308.15 °C, room temperature if it were kelvin, is predicted with an ``MlsseWarning``.

    Parameters
    ----------
    data : str, pymatgen.core.Composition, list, pandas.Series or pandas.DataFrame
        A formula or Composition, a list or Series of them, or a DataFrame with a ``composition`` column and
        optionally ``temperature_C`` (°C), ``space_group_number``, ``a``, ``b``, ``c`` (Å), ``alpha``,
        ``beta``, ``gamma`` (degrees), ``cif`` (a path), ``additive`` (a formula), ``additive_wt_pct`` (wt%)
        and ``synthesis``.
    temperature_c : float, array_like or pandas.Series, optional
        Temperature for σ, °C: one number, or one per row (a Series is matched to the query by index). Give it
        or a ``temperature_C`` column, not both; without either, or for an empty cell, σ is at 25 °C (an empty
        cell of a ``temperature_C`` column says so in the row's ``note``).
    model : str or pathlib.Path, optional
        Model directory; default: the active model (:func:`mlsse.workspace.registry.load_predictor`).
    cif_dir : str or pathlib.Path, optional
        Directory where relative ``cif`` paths are looked up first, before the working directory.

    Returns
    -------
    pandas.DataFrame
        Every input column, with ``data``'s index; ``temperature_C`` holds the temperature used (added, or its
        empty cells filled). Then ``log10_sigma``, ``log10_sigma_lo``, ``log10_sigma_hi`` (log10 S/cm),
        ``sigma_S_cm`` (S/cm), ``ea_eV``, ``ea_lo``, ``ea_hi`` (eV), ``p_sigma_below_detection`` (the
        probability that σ at 25 °C is below 1e-10 S/cm, what papers report as "<1E-10"), ``in_domain`` and
        ``note``; then the evidence columns (:data:`~mlsse.models.predictor.EVIDENCE_COLUMNS`: the model's own
        value, what the training data measured for this composition, its three nearest measured compositions;
        a measured composition's ``log10_sigma`` is its measured median). An input column with one of those
        names is kept as ``<name>_input`` (with an ``MlsseWarning``).

    Raises
    ------
    DataError
        For a problem with the whole query: a column name twice, no ``composition`` column, a misspelt
        temperature column (e.g. ``temperature_c``), a temperature given both ways, a ``temperature_c`` that is
        not a number (or a single one that is not finite), or one that does not match the query's rows (length,
        or a Series' index).
    ModelError
        If the model is missing, damaged or incompatible.
    """
    from mlsse.workspace.registry import load_predictor

    predictor = load_predictor(model)
    query = as_query_frame(data)
    _check_column_names(query)
    temperature = _temperatures(query, temperature_c)
    out, refused = predict_rows(predictor, query, temperature, cif_dir, _kept_input_names(query.columns))
    warn_if_kelvin_like(temperature, skip=refused)
    out.index = query.index
    return out


def predict_rows(predictor, query: pd.DataFrame, temperature: np.ndarray, cif_dir: str | Path | None = None,
                 renamed: dict[str, str] | None = None, cache: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Check and predict the rows of a query whose columns and temperatures are already read: :func:`predict`'s
    work on one table or one chunk of a streamed one (rows never depend on each other).

    Parameters
    ----------
    predictor : Predictor
        The model.
    query : pandas.DataFrame
        The rows, with a ``composition`` column (:func:`as_query_frame`, names checked).
    temperature : numpy.ndarray
        The asked temperature of each row, °C (NaN: 25 °C), as :func:`predict` reads it.
    cif_dir : str or pathlib.Path, optional
        Directory where relative ``cif`` paths are looked up first.
    renamed : dict of str to str, optional
        Input columns to keep under another name (:func:`predict` keeps ``sigma_S_cm`` as ``sigma_S_cm_input``).
    cache : bool, default True
        Use the on-disk feature caches.

    Returns
    -------
    out : pandas.DataFrame
        :func:`predict`'s table for the rows, with a RangeIndex.
    refused : list of str
        Per row, why it was not predicted, or ``""``.
    """
    from mlsse.data.schema import is_blank

    n = len(query)
    compositions, notes = _parsed_compositions(query["composition"])
    notes = _row_problems(query, temperature, notes)
    good = [i for i in range(n) if not notes[i]]
    refused = list(notes)  # the rows not predicted; an out-of-domain row's note does not make it one
    result = empty_output(n, notes)
    if good:
        rows = _feature_input(query.iloc[good].reset_index(drop=True), cif_dir)
        # The parsed Compositions, not the text: the features and the measured-value check read them unparsed.
        rows["composition"] = [compositions[i] for i in good]
        predicted = predictor.predict(rows, temperature[good], cache=cache)
        for column in OUTPUT_COLUMNS:
            result.loc[good, column] = predicted[column].to_numpy()
    out = query.reset_index(drop=True).rename(columns=renamed or {})
    used = np.where(np.isnan(temperature), ROOM_TEMPERATURE_C, temperature)
    blank = np.zeros(n, dtype=bool)
    if "temperature_C" in query.columns:
        blank = out["temperature_C"].map(is_blank).to_numpy(dtype=bool)
        out["temperature_C"] = out["temperature_C"].astype(object).where(~blank, pd.Series(used, dtype=object))
    else:
        out["temperature_C"] = used
    for column in OUTPUT_COLUMNS:
        out[column] = result[column]
    # A blank cell in a temperature column the file does give is an assumption: say it where it was made.
    assumed = blank & np.isnan(temperature) & out["log10_sigma"].notna().to_numpy()
    if assumed.any():
        note = f"no temperature_C given: σ at {ROOM_TEMPERATURE_C:g} °C"
        out.loc[assumed, "note"] = [f"{text}; {note}" if text else note for text in out.loc[assumed, "note"]]
    return out, refused


def _parsed_compositions(formulas: pd.Series) -> tuple[list, list[str]]:
    """Parse each distinct formula once: per row its Composition (None if refused) and why it was refused."""
    from mlsse.chemistry import parse_composition

    seen: dict[str, tuple] = {}
    compositions, notes = [], []
    for formula in formulas.astype(str):
        if formula not in seen:
            try:
                seen[formula] = (parse_composition(formula), "")
            except ValueError as exc:
                seen[formula] = (None, str(exc))
        composition, note = seen[formula]
        compositions.append(composition)
        notes.append(note)
    return compositions, notes


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


def _check_column_names(query: pd.DataFrame) -> None:
    """Refuse (``DataError``) a temperature column mlsse would not read, such as ``temperature_c``, since σ would
    silently come out at 25 °C; warn (``MlsseWarning``) of other columns that look like one mlsse reads."""
    import warnings

    from mlsse.data.schema import misnamed_columns
    from mlsse.errors import DataError, MlsseWarning

    for column, meant in misnamed_columns(list(query.columns), ["composition", *OPTIONAL_INPUT_COLUMNS]):
        if meant == "temperature_C":
            raise DataError(f"column {column!r} is not read: name it 'temperature_C', in °C")
        warnings.warn(f"column {column!r} is not read; name it {meant!r} if it is meant as that", MlsseWarning,
                      stacklevel=3)


#: Temperatures (°C) that are room temperature (``ROOM_TEMPERATURE_C``, 15–35 °C) if read as kelvin: predicted,
#: since 300 °C is a real measuring temperature, but with a warning.
KELVIN_ROOM_TEMPERATURE = (288.0, 308.15)


def warn_if_kelvin_like(temperature, skip=None) -> None:
    """Warn (``MlsseWarning``) if a temperature may be room temperature given in kelvin.

    A temperature in :data:`KELVIN_ROOM_TEMPERATURE` is predicted (300 °C is a real measuring temperature), but
    the user is told how it would read as kelvin.

    Parameters
    ----------
    temperature : float or array_like
        Temperature(s), °C: one, or one per query row.
    skip : sequence, optional
        Per row, a truthy value for rows to leave out (already refused).
    """
    import warnings

    from mlsse.errors import MlsseWarning

    temperature = np.atleast_1d(np.asarray(temperature, dtype=float))
    suspect = kelvin_like_rows(temperature, skip)
    if suspect:
        t = temperature[suspect[0]]
        rows = "" if len(temperature) == 1 else (" (query row(s) " + ", ".join(str(i + 1) for i in suspect[:5])
                                                 + (" …" if len(suspect) > 5 else "") + ")")
        warnings.warn(f"σ predicted at {t:g} °C{rows}; if that is kelvin, it is {t - KELVIN_OFFSET:g} °C: give °C",
                      MlsseWarning, stacklevel=3)


def kelvin_like_rows(temperature, skip=None) -> list[int]:
    """Return the 0-based rows whose temperature is in :data:`KELVIN_ROOM_TEMPERATURE`, leaving out ``skip``'s.

    Parameters
    ----------
    temperature : array_like of float
        One temperature per row, °C.
    skip : sequence, optional
        Per row, a truthy value for rows to leave out (already refused).

    Returns
    -------
    list of int
        The rows.
    """
    lo, hi = KELVIN_ROOM_TEMPERATURE
    return [i for i, t in enumerate(np.atleast_1d(np.asarray(temperature, dtype=float)))
            if lo <= t <= hi and not (skip is not None and skip[i])]


def temperature_problem(temperature_c: float) -> str | None:
    """Return why σ cannot be predicted at a temperature, or None if it can.

    Parameters
    ----------
    temperature_c : float
        The temperature, °C.

    Returns
    -------
    str or None
        The problem: not finite, outside :data:`~mlsse.data.schema.PREDICTION_TEMPERATURE_RANGE_C`, or surely
        kelvin (:func:`~mlsse.data.schema.temperature_problem`).
    """
    from mlsse.data.schema import PREDICTION_TEMPERATURE_RANGE_C
    from mlsse.data.schema import temperature_problem as problem

    return problem(temperature_c, *PREDICTION_TEMPERATURE_RANGE_C)


def _row_problems(query: pd.DataFrame, temperature: np.ndarray, notes: list[str]) -> list[str]:
    """Return each row's note: ``notes`` (the formula's problem) where given, else why its temperature, additive
    or structure cells cannot be predicted (:func:`_row_problem`), checked once per distinct set of cells."""
    from mlsse.data.schema import STRUCTURE_VALUE_RANGES

    columns = [c for c in ("temperature_C", "additive", "additive_wt_pct", *STRUCTURE_VALUE_RANGES)
               if c in query.columns]
    cells = [query[c].tolist() for c in columns]
    known: dict[tuple, str] = {}
    out = list(notes)
    for i, note in enumerate(notes):
        if note:
            continue
        row = [column[i] for column in cells]
        # 1, 1.0 and True stay apart; every float NaN is one key.
        key = (tuple((type(v), "nan") if isinstance(v, float) and v != v else (type(v), v) for v in row),
               "nan" if np.isnan(temperature[i]) else float(temperature[i]))
        if key not in known:
            known[key] = _row_problem(dict(zip(columns, row)), float(temperature[i])) or ""
        out[i] = known[key]
    return out


def _row_problem(cells: dict, temperature: float) -> str | None:
    """Return why a row (its formula parsed) cannot be predicted: its temperature, additive or structure cells
    (``cells``: column → cell, for the columns the query has)."""
    from mlsse.data.schema import (
        STRUCTURE_VALUE_RANGES,
        additive_problem,
        cell_text,
        is_blank,
        parse_float,
        structure_value_problem,
    )
    from mlsse.errors import DataError

    if "temperature_C" in cells and np.isnan(temperature):
        cell = cells["temperature_C"]
        if not is_blank(cell):
            return f"temperature_C {str(cell).strip()!r} is not a number"
    if not np.isnan(temperature) and (problem := temperature_problem(temperature)) is not None:
        return problem
    if "additive" in cells or "additive_wt_pct" in cells:
        additive = cell_text(cells["additive"]) if "additive" in cells else ""
        try:
            wt = parse_float(cells["additive_wt_pct"], column="additive_wt_pct") \
                if "additive_wt_pct" in cells else float("nan")
        except DataError as exc:
            return f"additive_wt_pct {exc.problem}"
        # An additive without wt% is a composite of unknown share, which the features can still say.
        if (problem := additive_problem(additive, wt, pair_required=False)) is not None:
            return problem
    for column in STRUCTURE_VALUE_RANGES:
        if column not in cells:
            continue
        try:
            value = parse_float(cells[column], column=column)
        except DataError as exc:
            return f"{column} {exc.problem}"
        if (problem := structure_value_problem(column, value)) is not None:
            return problem
    return None


def _feature_input(rows: pd.DataFrame, cif_dir: str | Path | None = None) -> pd.DataFrame:
    """The curated-style columns the featurizers read, empty where the query does not give them; relative CIF
    paths found in ``cif_dir`` point there."""
    from mlsse.data.schema import cell_text

    frame = pd.DataFrame({"composition": rows["composition"].astype(str)})
    for column in OPTIONAL_INPUT_COLUMNS:
        frame[column] = rows[column] if column in rows.columns else np.nan
    frame["cif"] = frame["cif"].map(cell_text)  # the process featurizer reads the other columns' blanks itself
    if cif_dir is not None:
        from mlsse.data.cif import located_cif

        frame["cif"] = [located_cif(cif, cif_dir) for cif in frame["cif"]]
    return frame


def _temperatures(query: pd.DataFrame, temperature_c) -> np.ndarray:
    """Return the asked temperature of each row (°C; NaN = not given, σ at 25 °C)."""
    from mlsse.data.schema import is_blank
    from mlsse.errors import DataError

    column = query["temperature_C"] if "temperature_C" in query.columns else None
    if temperature_c is None:
        if column is None:
            return np.full(len(query), np.nan)
        return pd.to_numeric(column.where(~column.map(is_blank).astype(bool)), errors="coerce").to_numpy(dtype=float)
    if column is not None and not column.map(is_blank).all():
        raise DataError("the temperature is given twice, as temperature_c (--temperature-c) and in the "
                        "temperature_C column: give one")
    if isinstance(temperature_c, pd.Series):
        if not (temperature_c.index.is_unique and set(temperature_c.index) == set(query.index)):
            raise DataError("temperature_c is a Series whose index is not the query's")
        temperature_c = temperature_c.reindex(query.index)
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
