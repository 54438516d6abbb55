"""The Python API's prediction, ``mlsse.predict``: load the model, then go through :mod:`mlsse.query`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlsse.query import predict_query
from mlsse.workspace.registry import load_predictor


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
    return predict_query(load_predictor(model), data, temperature_c, cif_dir=cif_dir).table


