"""The members of :class:`~mlsse.models.estimator.ConformalBoostedRegressor`: the columns each booster and forest
member reads (checked against the feature count), its input, and how the members' mean and the censor classifier's
probability combine (:func:`mixture_mean`)."""

from __future__ import annotations

import numpy as np


def mixture_mean(mean, p, censored_value: float) -> np.ndarray:
    """Return the mean of "``censored_value`` with probability ``p``, else ``mean``": p·c + (1 − p)·mean.

    Parameters
    ----------
    mean : float or array_like
        The prediction of a measured value, in the target's units.
    p : float or array_like
        Probability of ``censored_value``, in [0, 1].
    censored_value : float
        The censored label c, in the target's units.

    Returns
    -------
    numpy.ndarray
        The mean, ``mean`` and ``p`` broadcast; NaN where ``mean`` or ``p`` is NaN.
    """
    mean, p = np.broadcast_arrays(np.asarray(mean, dtype=float), np.asarray(p, dtype=float))
    return p * censored_value + (1.0 - p) * mean


def member_input(X: np.ndarray, columns: np.ndarray, filled: bool) -> np.ndarray:
    """Return the columns of ``X`` one member reads.

    Parameters
    ----------
    X : numpy.ndarray, shape (n_rows, n_features)
        Features.
    columns : numpy.ndarray
        The member's column indices.
    filled : bool
        Set NaN to −1 (a forest member).

    Returns
    -------
    numpy.ndarray, shape (n_rows, len(columns))
        The member's input.
    """
    return np.where(np.isnan(X[:, columns]), -1.0, X[:, columns]) if filled else X[:, columns]


def checked_view_columns(views, n_features: int, name: str = "views") -> list[np.ndarray]:
    """Return the column indices each booster reads, checked.

    Parameters
    ----------
    views : list of list of int or None
        The views; None: one view of every column.
    n_features : int
        Number of feature columns.
    name : str, default "views"
        The parameter the error message names.

    Returns
    -------
    list of numpy.ndarray
        One integer array per view.

    Raises
    ------
    ValueError
        For an empty list or view, a view that is not a list of integers, or an index outside
        ``0 … n_features − 1``.
    """
    if views is None:
        return [np.arange(n_features)]
    if len(views) == 0:
        raise ValueError(f"{name} must be None or hold at least one view")
    columns = []
    for i, view in enumerate(views):
        view = np.asarray(view)
        if view.ndim != 1 or view.size == 0 or not np.issubdtype(view.dtype, np.integer):
            raise ValueError(f"{name}: view {i} must be a non-empty list of column indices")
        if view.min() < 0 or view.max() >= n_features:
            raise ValueError(f"{name}: view {i} has a column index outside 0…{n_features - 1}")
        columns.append(view.astype(int))
    return columns


def forest_columns(forest_views, n_features: int) -> list[np.ndarray]:
    """Return the column indices each forest member reads, checked.

    Parameters
    ----------
    forest_views : list of list of int or None
        The views; None: no forest.
    n_features : int
        Number of feature columns.

    Returns
    -------
    list of numpy.ndarray
        One integer array per view; empty for None.

    Raises
    ------
    ValueError
        As :func:`checked_view_columns`, naming ``forest_views``.
    """
    return [] if forest_views is None else checked_view_columns(forest_views, n_features, "forest_views")
