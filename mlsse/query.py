"""The one door for a query: check what a user asks about, then predict the rows that can be predicted.

:func:`mlsse.predict`, :func:`mlsse.batch.predict_file` (a chunk at a time), :func:`mlsse.rank`, the CLI and the
web app all go through :func:`check_query` and :func:`predict_rows`, so a query is checked, refused and
featurized the same way wherever it comes from, and featurized once.

Layer: above :mod:`mlsse.models` (it takes a fitted :class:`~mlsse.models.predictor.Predictor`), below the API,
doping and the CLI.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.chemistry import parse_composition
from mlsse.data.cif import located_cif
from mlsse.data.schema import (
    OPTIONAL_INPUT_COLUMNS,
    STRUCTURE_VALUE_RANGES,
    additive_problem,
    as_query_frame,
    cell_text,
    is_blank,
    misnamed_columns,
    parse_float,
    structure_value_problem,
)
from mlsse.errors import DataError, MlsseWarning
from mlsse.features import featurize_table
from mlsse.models.predictor import NUMERIC_PREDICTION_COLUMNS, OUTPUT_COLUMNS, empty_output
from mlsse.temperature import ROOM_TEMPERATURE_C, temperature_problem, warn_if_kelvin_like


@dataclass(frozen=True)
class CheckedQuery:
    """A query whose columns and temperatures are read and checked (:func:`check_query`); its rows are checked
    one by one when predicted (:func:`predict_rows`).

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows, a ``composition`` column and the user's other columns, with the user's index (a copy).
    temperature_c : numpy.ndarray
        The asked temperature of each row, °C (NaN: not given, σ at 25 °C).
    renamed : dict of str to str
        Input columns named like a prediction column → the name they are kept under (``<name>_input``).
    """

    frame: pd.DataFrame
    temperature_c: np.ndarray
    renamed: dict


@dataclass(frozen=True)
class RowPredictions:
    """What :func:`predict_rows` gives.

    Attributes
    ----------
    table : pandas.DataFrame
        :func:`mlsse.predict`'s table for the rows, with the query's index.
    refused : list of str
        Per row, why it was not predicted, or ``""`` (an out-of-domain row's note does not make it refused).
    features : pandas.DataFrame
        The features of every row (NaN for a refused one) and their ``error`` column, with a RangeIndex: what
        the explanations of the same rows read, so that a query is featurized once.
    """

    table: pd.DataFrame
    refused: list
    features: pd.DataFrame


def check_query(data, temperature_c=None, *, warn: bool = True) -> CheckedQuery:
    """Read and check a query as a whole: its shape, column names and temperatures.

    Parameters
    ----------
    data : str, pymatgen.core.Composition, list, pandas.Series or pandas.DataFrame
        As :func:`mlsse.predict`.
    temperature_c : float, array_like or pandas.Series, optional
        As :func:`mlsse.predict`, °C.
    warn : bool, default True
        Warn (``MlsseWarning``) of columns that are not read and of input columns kept under another name; a
        streamed table's later chunks pass False, having warned once.

    Returns
    -------
    CheckedQuery
        The query frame, one temperature per row and the renamed input columns.

    Raises
    ------
    DataError
        For a problem with the whole query (see :func:`mlsse.predict`).
    """
    frame = as_query_frame(data)
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore", MlsseWarning)
        _check_column_names(frame)
        renamed = _kept_input_names(frame.columns)
    return CheckedQuery(frame, _temperatures(frame, temperature_c), renamed)


def predict_query(predictor, data, temperature_c=None, *, cif_dir: str | Path | None = None,
                  cache: bool = True) -> RowPredictions:
    """Check a query and predict it: :func:`mlsse.predict` with a loaded model, keeping the features.

    Parameters
    ----------
    predictor : Predictor
        The model.
    data, temperature_c, cif_dir
        As :func:`mlsse.predict` (``temperature_c`` in °C).
    cache : bool, default True
        Use the on-disk feature caches.

    Returns
    -------
    RowPredictions
        The table (with ``data``'s index), why rows were refused, and the features.
    """
    query = check_query(data, temperature_c)
    predicted = predict_rows(predictor, query, cif_dir, cache=cache)
    warn_if_kelvin_like(query.temperature_c, skip=predicted.refused, stacklevel=4)
    return predicted


def predict_rows(predictor, query: CheckedQuery, cif_dir: str | Path | None = None, *,
                 cache: bool = True) -> RowPredictions:
    """Check and predict the rows of a checked query: :func:`mlsse.predict`'s work on one table or one chunk of a
    streamed one (rows never depend on each other).

    Parameters
    ----------
    predictor : Predictor
        The model.
    query : CheckedQuery
        The query (:func:`check_query`).
    cif_dir : str or pathlib.Path, optional
        Directory where relative ``cif`` paths are looked up first.
    cache : bool, default True
        Use the on-disk feature caches.

    Returns
    -------
    RowPredictions
        :func:`mlsse.predict`'s table for the rows (with the query's index), why rows were refused, and the
        features of the rows.
    """
    frame, temperature = query.frame, query.temperature_c
    n = len(frame)
    compositions, notes = _parsed_compositions(frame["composition"])
    notes = _row_problems(frame, temperature, notes)
    good = [i for i in range(n) if not notes[i]]
    refused = list(notes)  # the rows not predicted; an out-of-domain row's note does not make it one
    result = empty_output(n, notes)
    features = pd.DataFrame(index=pd.RangeIndex(n))
    if good:
        rows = _feature_input(frame.iloc[good].reset_index(drop=True), cif_dir)
        # The parsed Compositions, not the text: the features and the measured-value check read them unparsed.
        rows["composition"] = [compositions[i] for i in good]
        good_features = featurize_table(rows, errors="nan", cache=cache)
        predicted = predictor.predict(rows, temperature[good], cache=cache, features=good_features)
        for column in OUTPUT_COLUMNS:
            result.loc[good, column] = predicted[column].to_numpy()
        features = good_features.set_axis(good).reindex(range(n))
    features["error"] = features["error"].fillna(pd.Series(notes)) if "error" in features else notes
    out = frame.reset_index(drop=True).rename(columns=query.renamed)
    used = np.where(np.isnan(temperature), ROOM_TEMPERATURE_C, temperature)
    blank = np.zeros(n, dtype=bool)
    if "temperature_C" in frame.columns:
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
    out.index = frame.index
    return RowPredictions(out, refused, features)


def rounded_predictions(result: pd.DataFrame) -> pd.DataFrame:
    """Return the predictions at a precision that means something: 4 decimals of log10 σ (S/cm), Ea (eV),
    probabilities and rank scores, 4 significant digits of σ in S/cm; other columns as given."""
    out = result.copy()
    ranking = ["rank_score", "delta_log10_sigma", "delta_log10_sigma_lo", "delta_log10_sigma_hi", "delta_ea_eV",
               "delta_ea_lo", "delta_ea_hi", "p_beats_reference"]
    for column in NUMERIC_PREDICTION_COLUMNS + ["model_log10_sigma", "measured_log10_sigma"] + ranking:
        if column not in out:
            continue
        values = out[column].to_numpy(dtype=float)
        if column.endswith("_S_cm"):
            out[column] = [float(f"{v:.4g}") if np.isfinite(v) else v for v in values]
        else:
            out[column] = np.round(values, 4)
    return out


def _parsed_compositions(formulas: pd.Series) -> tuple[list, list[str]]:
    """Parse each distinct formula once: per row its Composition (None if refused) and why it was refused."""
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
    renamed = {}
    for column in columns:
        if column in OUTPUT_COLUMNS:
            name = f"{column}_input"
            while name in columns:
                name += "_input"
            renamed[column] = name
    if renamed:
        warnings.warn("input column(s) named like a prediction column kept as "
                      + ", ".join(f"{old!r} → {new!r}" for old, new in renamed.items()), MlsseWarning, stacklevel=5)
    return renamed


def _check_column_names(query: pd.DataFrame) -> None:
    """Refuse (``DataError``) a temperature column mlsse would not read, such as ``temperature_c``, since σ would
    silently come out at 25 °C; warn (``MlsseWarning``) of other columns that look like one mlsse reads."""
    for column, meant in misnamed_columns(list(query.columns), ["composition", *OPTIONAL_INPUT_COLUMNS]):
        if meant == "temperature_C":
            raise DataError(f"column {column!r} is not read: name it 'temperature_C', in °C")
        warnings.warn(f"column {column!r} is not read; name it {meant!r} if it is meant as that", MlsseWarning,
                      stacklevel=5)


def _row_problems(query: pd.DataFrame, temperature: np.ndarray, notes: list[str]) -> list[str]:
    """Return each row's note: ``notes`` (the formula's problem) where given, else why its temperature, additive
    or structure cells cannot be predicted (:func:`_row_problem`), checked once per distinct set of cells."""
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
    frame = pd.DataFrame({"composition": rows["composition"].astype(str)})
    for column in OPTIONAL_INPUT_COLUMNS:
        frame[column] = rows[column] if column in rows.columns else np.nan
    frame["cif"] = frame["cif"].map(cell_text)  # the process featurizer reads the other columns' blanks itself
    if cif_dir is not None:
        frame["cif"] = [located_cif(cif, cif_dir) for cif in frame["cif"]]
    return frame


def _temperatures(query: pd.DataFrame, temperature_c) -> np.ndarray:
    """Return the asked temperature of each row (°C; NaN = not given, σ at 25 °C)."""
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
