"""The two targets, and which curated rows train each, with what label and which group (paper)."""

from __future__ import annotations

from enum import Enum

import numpy as np
import pandas as pd

from mlsse.data.references import paper_group_map
from mlsse.temperature import ROOM_TEMPERATURE_RANGE_C


class Target(str, Enum):
    """What a model predicts: ``log10_sigma`` (log10 of σ at 25 °C, S/cm) or ``ea_eV`` (the activation energy, eV)."""

    LOG10_SIGMA = "log10_sigma"
    EA = "ea_eV"

    @classmethod
    def named(cls, name) -> "Target":
        """Return the target called ``name``.

        Parameters
        ----------
        name : Target or str
            A ``Target``, ``"log10_sigma"`` or ``"sigma"``, ``"ea_eV"`` or ``"ea"``.

        Returns
        -------
        Target
            The target.

        Raises
        ------
        ValueError
            Naming the choices, for anything else.
        """
        if isinstance(name, cls):
            return name
        found = {"log10_sigma": cls.LOG10_SIGMA, "sigma": cls.LOG10_SIGMA, "ea_eV": cls.EA, "ea": cls.EA}.get(name)
        if found is None:
            raise ValueError(f"unknown target {name!r}: choose 'log10_sigma' (or 'sigma') or 'ea_eV' (or 'ea')")
        return found

    @property
    def unit(self) -> str:
        """The unit of the target and of its SHAP contributions."""
        return "log10 S/cm" if self is Target.LOG10_SIGMA else "eV"


#: log10 σ given to censored ("<1E-10") rows, OBELiX's convention. The public benchmarks score censored
#: entries at 1e-15, so the σ model predicts this value for a likely-censored material: a classifier learns
#: which rows carry it (``ConformalBoostedRegressor(censored_value=...)``) and the regressors never see them.
CENSORED_LOG10_SIGMA = -15.0
#: log10 σ (S/cm) of the detection limit those censored entries are reported below ("<1E-10").
DETECTION_LIMIT_LOG10_SIGMA = -10.0
#: Arrhenius-fit Ea labels are used only from fits at least this good.
MIN_ARRHENIUS_R2 = 0.9
#: Physically plausible Ea labels, eV.
EA_RANGE_EV = (0.05, 2.0)


def sigma_training_mask(table: pd.DataFrame) -> np.ndarray:
    """Return which rows of a curated table label room-temperature log10 σ (:func:`sigma_training_rows`).

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.

    Returns
    -------
    numpy.ndarray of bool
        Per row: σ > 0 S/cm measured at 15–35 °C.
    """
    lo, hi = ROOM_TEMPERATURE_RANGE_C
    return (table["sigma_S_cm"].gt(0) & table["temperature_C"].between(lo, hi)).to_numpy()


def ea_training_mask(table: pd.DataFrame) -> np.ndarray:
    """Return which rows of a curated table label Ea (:func:`ea_training_rows`).

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.

    Returns
    -------
    numpy.ndarray of bool
        Per row: Ea within 0.05–2 eV, reported or from an Arrhenius fit with R² ≥ 0.9.
    """
    lo, hi = EA_RANGE_EV
    good_fit = table["value_origin"].ne("arrhenius-fit") | table["arrhenius_r2"].ge(MIN_ARRHENIUS_R2)
    return (table["ea_eV"].between(lo, hi) & good_fit).to_numpy()


def sigma_training_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return the rows labelling room-temperature log10 σ: σ > 0 measured at 15–35 °C.

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.

    Returns
    -------
    pandas.DataFrame
        The rows (RangeIndex) with ``target`` (log10 σ, log10 S/cm; :data:`CENSORED_LOG10_SIGMA` for censored
        rows) and ``group`` (paper, grouped over the whole ``table``) added.
    """
    rows = table[sigma_training_mask(table)].copy()
    rows["target"] = np.where(rows["censored"], CENSORED_LOG10_SIGMA, np.log10(rows["sigma_S_cm"]))
    rows["group"] = rows["reference"].astype(str).map(paper_group_map(table["reference"]))
    return rows.reset_index(drop=True)


def sigma_temperature_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return the rows with a measured σ away from room temperature (outside 15–35 °C).

    They test σ(T), which the models predict from σ at 25 °C and Ea, and train nothing. Censored rows are left
    out.

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.

    Returns
    -------
    pandas.DataFrame
        The rows (RangeIndex) with ``target`` (log10 σ at the row's ``temperature_C``, log10 S/cm) and
        ``group`` (paper, grouped over the whole ``table``) added.
    """
    lo, hi = ROOM_TEMPERATURE_RANGE_C
    temperature = table["temperature_C"]
    rows = table[table["sigma_S_cm"].gt(0) & ~table["censored"].astype(bool) & temperature.notna()
                 & ~temperature.between(lo, hi)].copy()
    rows["target"] = np.log10(rows["sigma_S_cm"].astype(float))
    rows["group"] = rows["reference"].astype(str).map(paper_group_map(table["reference"]))
    return rows.reset_index(drop=True)


def ea_training_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return the rows labelling Ea: reported values and Arrhenius fits with R² ≥ 0.9, within 0.05–2 eV.

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.

    Returns
    -------
    pandas.DataFrame
        The rows (RangeIndex) with ``target`` (Ea, eV) and ``group`` (paper, grouped over the whole ``table``)
        added.
    """
    rows = table[ea_training_mask(table)].copy()
    rows["target"] = rows["ea_eV"].astype(float)
    rows["group"] = rows["reference"].astype(str).map(paper_group_map(table["reference"]))
    return rows.reset_index(drop=True)
