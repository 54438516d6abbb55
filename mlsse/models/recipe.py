"""What each target's model is made of: its feature views, structure and hyper-parameters (:func:`model_for`), and
the training rows and feature table it is fitted on (:func:`target_rows`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlsse.features import featurize_table
from mlsse.features.preset import ELEMENT_AMOUNT_LABELS, ELEMENT_FRACTION_LABELS
from mlsse.features.structure import CELL_LABELS, LATTICE_CONSTANT_LABELS
from mlsse.models.estimator import ConformalBoostedRegressor
from mlsse.models.targets import (
    CENSORED_LOG10_SIGMA,
    ea_training_mask,
    ea_training_rows,
    sigma_training_mask,
    sigma_training_rows,
)
from mlsse.models.tuning import DEFAULT_PARAMS, default_params
from mlsse.progress import SILENT


#: The column the Ea model reads after the features: the σ model's log10 σ at 25 °C (log10 S/cm) of the same row.
#: Ea and room-temperature σ are tied by Arrhenius and the σ model learns from twice the rows, so Ea is predicted
#: from what the σ model makes of the material (docs/decisions.md, "Ea with the predicted σ as an input").
PREDICTED_LOG10_SIGMA = "log10 σ at 25 °C predicted by the σ model"


def ea_feature_names(feature_names: list[str]) -> list[str]:
    """Return the Ea model's input columns: ``feature_names`` then :data:`PREDICTED_LOG10_SIGMA`."""
    return [*feature_names, PREDICTED_LOG10_SIGMA]


def with_predicted_log10_sigma(X: np.ndarray, log10_sigma) -> np.ndarray:
    """Return the Ea model's input: the feature matrix ``X`` with each row's predicted log10 σ at 25 °C (log10
    S/cm, from the σ model) as one more column (:data:`PREDICTED_LOG10_SIGMA`)."""
    return np.column_stack([np.asarray(X, dtype=float), np.asarray(log10_sigma, dtype=float)])


def feature_views(feature_names: list[str], target: str) -> list[list[int]] | None:
    """Return the column views the ``target`` model's boosters average over (see ``ConformalBoostedRegressor``).

    log10 σ: the descriptors (everything but the element fractions, element amounts and lattice constants) and,
    separately, the element fractions with crystal system, space-group number, cell volume and volume per atom.
    Ea: the descriptors only (with :data:`PREDICTED_LOG10_SIGMA` when given). The element amounts and lattice
    constants are left to the forest
    (:func:`forest_feature_views`).

    Parameters
    ----------
    feature_names : list of str
        The feature columns, in order.
    target : str
        ``"log10_sigma"`` or ``"ea_eV"``.

    Returns
    -------
    list of list of int or None
        Column indices per view; empty views are dropped, and None (no view left) means one booster on every
        column.
    """
    fractions = set(ELEMENT_FRACTION_LABELS)
    forest_only = set(ELEMENT_AMOUNT_LABELS) | set(LATTICE_CONSTANT_LABELS)
    descriptors = [i for i, name in enumerate(feature_names) if name not in fractions | forest_only]
    if target == "ea_eV":
        return [descriptors] if descriptors else None
    composition = [i for i, name in enumerate(feature_names) if name in fractions or name in CELL_LABELS]
    return [view for view in (descriptors, composition) if view] or None


def forest_feature_views(feature_names: list[str], target: str) -> list[list[int]] | None:
    """Return the column views of the ``target`` model's random-forest members (see ``ConformalBoostedRegressor``).

    log10 σ: one forest on the element amounts, space-group number and lattice constants, the OBELiX paper's
    random-forest inputs, a view of the material unlike the boosters'. Ea: none.

    Parameters
    ----------
    feature_names : list of str
        The feature columns, in order.
    target : str
        ``"log10_sigma"`` or ``"ea_eV"``.

    Returns
    -------
    list of list of int or None
        Column indices per forest; None for no forest (Ea, or none of those columns present).
    """
    if target == "ea_eV":
        return None
    inputs = set(ELEMENT_AMOUNT_LABELS) | set(LATTICE_CONSTANT_LABELS) | {"space group number"}
    view = [i for i, name in enumerate(feature_names) if name in inputs]
    return [view] if view else None


def model_structure(feature_names: list[str], target: str) -> dict:
    """Return the ``target`` model's structural settings: the ``ConformalBoostedRegressor`` parameters not tuned.

    For log10 σ the censored label is set, so censored rows (σ below a detection limit) get a classifier of
    their own instead of pulling the regressors towards −15.

    Parameters
    ----------
    feature_names : list of str
        The feature columns, in order.
    target : str
        ``"log10_sigma"`` or ``"ea_eV"``.

    Returns
    -------
    dict
        ``views`` (:func:`feature_views`), ``forest_views`` (:func:`forest_feature_views`) and
        ``censored_value`` (:data:`~mlsse.models.targets.CENSORED_LOG10_SIGMA` for log10 σ, else None).
    """
    return {"views": feature_views(feature_names, target),
            "forest_views": forest_feature_views(feature_names, target),
            "censored_value": CENSORED_LOG10_SIGMA if target == "log10_sigma" else None}


def model_for(target: str, feature_names: list[str], params: dict | None = None, *, seed: int = 0,
              calibrate: bool = False) -> ConformalBoostedRegressor:
    """Return an unfitted ``target`` model over ``feature_names``.

    Parameters
    ----------
    target : str
        ``"log10_sigma"`` or ``"ea_eV"``.
    feature_names : list of str
        The feature columns the model will be fitted on, in order.
    params : dict, optional
        Hyper-parameters (e.g. a saved model's); only the entries of
        :data:`~mlsse.models.tuning.DEFAULT_PARAMS` are used, over :func:`default_params`.
    seed : int, default 0
        ``random_state`` of the model.
    calibrate : bool, default False
        Calibrate the interval when fitted.

    Returns
    -------
    ConformalBoostedRegressor
        The model, with the target's :func:`model_structure`.
    """
    hyper = default_params(target)
    hyper.update({k: v for k, v in (params or {}).items() if k in DEFAULT_PARAMS})
    return ConformalBoostedRegressor(**hyper, **model_structure(feature_names, target), calibrate=calibrate,
                                     random_state=seed)


def feature_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """Featurize curated rows (composition, process, lattice and structure blocks) in the table's order.

    Parameters
    ----------
    table : pandas.DataFrame
        Curated rows.

    Returns
    -------
    pandas.DataFrame
        :func:`mlsse.features.featurize_table` of the rows, with a RangeIndex.

    Raises
    ------
    DataError
        If a composition cannot be featurized.
    """
    return featurize_table(table).reset_index(drop=True)


def usable_feature_names(features: pd.DataFrame) -> list[str]:
    """Return the columns that carry information: numeric, not all NaN, not constant.

    Parameters
    ----------
    features : pandas.DataFrame
        A feature table.

    Returns
    -------
    list of str
        The columns, in the table's order.
    """
    numeric = features.select_dtypes(include=[np.number, bool])
    keep = [c for c in numeric.columns if numeric[c].notna().any() and numeric[c].nunique(dropna=True) > 1]
    return keep


@dataclass
class TargetRows:
    """One target's training rows and their features, row for row.

    Attributes
    ----------
    target : str
        ``"log10_sigma"`` or ``"ea_eV"``.
    rows : pandas.DataFrame
        The curated rows with ``target`` (log10 S/cm or eV) and ``group`` (paper) (:mod:`mlsse.models.targets`).
    features : pandas.DataFrame
        Their feature table (RangeIndex).
    """

    target: str
    rows: pd.DataFrame
    features: pd.DataFrame

    @property
    def y(self) -> np.ndarray:
        """The labels (log10 S/cm or eV)."""
        return self.rows["target"].to_numpy(dtype=float)

    @property
    def groups(self) -> np.ndarray:
        """Each row's paper group."""
        return self.rows["group"].to_numpy()


def target_rows(table: pd.DataFrame, features: pd.DataFrame | None = None, progress=None) -> dict[str, TargetRows]:
    """Return the σ and the Ea training rows of a curated table, with their features.

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.
    features : pandas.DataFrame, optional
        ``table``'s feature table row for row (:func:`feature_matrix`), when already computed: each target's
        rows take theirs from it (a row's features do not depend on the other rows). Default: featurized here.
    progress : mlsse.progress.Progress, optional
        Told when the rows are featurized here.

    Returns
    -------
    dict of str to TargetRows
        ``"log10_sigma"`` (:func:`~mlsse.models.targets.sigma_training_rows`) and ``"ea_eV"``
        (:func:`~mlsse.models.targets.ea_training_rows`).

    Raises
    ------
    DataError
        If a composition cannot be featurized.
    """
    sigma_rows, ea_rows = sigma_training_rows(table), ea_training_rows(table)
    if features is None:
        (progress or SILENT).message(f"featurizing {len(sigma_rows)} σ rows and {len(ea_rows)} Ea rows")
        return {"log10_sigma": TargetRows("log10_sigma", sigma_rows, feature_matrix(sigma_rows)),
                "ea_eV": TargetRows("ea_eV", ea_rows, feature_matrix(ea_rows))}
    return {target: TargetRows(target, rows, features.iloc[np.flatnonzero(mask(table))].reset_index(drop=True))
            for target, rows, mask in (("log10_sigma", sigma_rows, sigma_training_mask),
                                       ("ea_eV", ea_rows, ea_training_mask))}
