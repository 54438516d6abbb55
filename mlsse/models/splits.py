"""Grouped folds (no paper on both sides) and the out-of-fold predictions they give."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold


def grouped_folds(n_rows: int, groups=None, n_splits=5, random_state=0):
    """Return the list of ``(train, test)`` index arrays: grouped k-fold when ``groups`` is given (shuffled
    reproducibly by ``random_state``), else shuffled k-fold."""
    index = np.arange(n_rows)
    if groups is None:
        return list(KFold(n_splits=n_splits, shuffle=True, random_state=random_state).split(index))
    groups = np.asarray(groups)
    n_splits = min(n_splits, len(np.unique(groups)))
    return list(GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state).split(index, groups=groups))


def out_of_fold_predictions(estimator, X, y, groups=None, n_splits=5, random_state=0) -> np.ndarray:
    """Predict every row with a clone of ``estimator`` fitted on the folds that exclude its group.

    With ``groups`` (e.g. one label per paper) the folds are grouped, so no group is on both sides.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    prediction = np.full(len(y), np.nan)
    for train, test in grouped_folds(len(y), groups, n_splits, random_state):
        prediction[test] = clone(estimator).fit(X[train], y[train]).predict(X[test])
    return prediction
