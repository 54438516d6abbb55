"""Grouped folds (no paper on both sides) and the out-of-fold predictions they give."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold


def grouped_folds(n_rows: int, groups=None, n_splits=5, random_state=0):
    """Return the folds of ``n_rows`` rows as ``(train, test)`` index arrays.

    Parameters
    ----------
    n_rows : int
        Number of rows.
    groups : array_like, optional
        Each row's group (e.g. its paper): grouped k-fold, no group on both sides. None: shuffled k-fold.
    n_splits : int, default 5
        Number of folds (at most the number of groups).
    random_state : int, default 0
        Seed of the shuffle.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        The folds.
    """
    index = np.arange(n_rows)
    if groups is None:
        return list(KFold(n_splits=n_splits, shuffle=True, random_state=random_state).split(index))
    groups = np.asarray(groups)
    n_splits = min(n_splits, len(np.unique(groups)))
    return list(GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state).split(index, groups=groups))


def fold_of_each_group(groups, folds) -> dict:
    """Return the number of the fold of ``folds`` (:func:`grouped_folds`) that holds out each group of ``groups``
    (one per row)."""
    groups = np.asarray(groups)
    return {group: k for k, (_, test) in enumerate(folds) for group in groups[test]}


def out_of_fold_predictions(estimator, X, y, groups=None, n_splits=5, random_state=0) -> np.ndarray:
    """Predict every row with a clone of ``estimator`` fitted on the folds that exclude it.

    Parameters
    ----------
    estimator : sklearn estimator
        The model to clone and fit.
    X : array_like, shape (n_rows, n_features)
        Features.
    y : array_like, shape (n_rows,)
        Targets.
    groups, n_splits, random_state
        As :func:`grouped_folds`; with ``groups`` (e.g. one label per paper) no group is on both sides.

    Returns
    -------
    numpy.ndarray
        The out-of-fold prediction of each row.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    prediction = np.full(len(y), np.nan)
    for train, test in grouped_folds(len(y), groups, n_splits, random_state):
        prediction[test] = clone(estimator).fit(X[train], y[train]).predict(X[test])
    return prediction
