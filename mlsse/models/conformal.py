"""Split-conformal prediction intervals: the quantile of held-out residuals, per applicability-domain class
(Mondrian), and their coverage on held-out papers."""

from __future__ import annotations

import math

import numpy as np

from mlsse.models.splits import grouped_folds


def conformal_quantile(residuals, coverage: float) -> float:
    """Return the split-conformal half-width: the ⌈(n+1)·coverage⌉-th smallest absolute residual.

    Parameters
    ----------
    residuals : array_like
        Held-out residuals (their absolute values are used), in the target's units.
    coverage : float
        Wanted coverage, in (0, 1).

    Returns
    -------
    float
        The half-width (the largest residual when n is too small for the rank).
    """
    residuals = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    n = len(residuals)
    rank = min(n, math.ceil((n + 1) * coverage))
    return float(residuals[rank - 1])


#: A domain class (in or out) with fewer out-of-fold residuals than this takes the quantile over all rows.
MIN_CLASS_RESIDUALS = 30


def domain_half_widths(residuals, in_domain, coverage: float = 0.8,
                       min_rows: int = MIN_CLASS_RESIDUALS) -> dict[str, float]:
    """Return Mondrian split-conformal half-widths, one per applicability-domain class.

    Each is the conformal quantile of its own class's out-of-fold residuals, so that each class is covered at
    ``coverage``, not only the two together (out-of-domain queries err more). A class with fewer than
    ``min_rows`` residuals takes the quantile over all rows, and the out-of-domain width is never below the
    in-domain one.

    Parameters
    ----------
    residuals : array_like
        Out-of-fold residuals, in the target's units.
    in_domain : array_like of bool
        Each row's out-of-fold domain flag.
    coverage : float, default 0.8
        Wanted coverage per class.
    min_rows : int, default MIN_CLASS_RESIDUALS
        Fewest residuals a class needs for a quantile of its own.

    Returns
    -------
    dict of str to float
        ``{"in_domain": …, "out_of_domain": …}``, in the target's units.
    """
    residuals, in_domain = np.abs(np.asarray(residuals, dtype=float)), np.asarray(in_domain, dtype=bool)
    overall = conformal_quantile(residuals, coverage)
    widths = {name: conformal_quantile(residuals[mask], coverage) if mask.sum() >= min_rows else overall
              for name, mask in (("in_domain", in_domain), ("out_of_domain", ~in_domain))}
    widths["out_of_domain"] = max(widths["out_of_domain"], widths["in_domain"])
    return widths


def grouped_interval_coverage(y_true, oof_pred, groups, coverage=0.8, n_splits=5, random_state=0,
                              in_domain=None) -> float:
    """Return the coverage of the conformal interval on held-out papers.

    Parameters
    ----------
    y_true, oof_pred, groups, coverage, n_splits, random_state, in_domain
        As :func:`grouped_interval_hits`.

    Returns
    -------
    float
        The fraction of rows whose target lies in its interval (the mean of :func:`grouped_interval_hits`).
    """
    return float(np.mean(grouped_interval_hits(y_true, oof_pred, groups, coverage, n_splits, random_state,
                                               in_domain)))


def grouped_interval_hits(y_true, oof_pred, groups, coverage=0.8, n_splits=5, random_state=0,
                          in_domain=None) -> np.ndarray:
    """Return, per row, whether its target lies in the conformal interval calibrated without its paper.

    For each grouped fold, the half-width is calibrated on the out-of-fold residuals of the *other* folds and
    this fold's targets are checked against ``prediction ± half-width``.

    Parameters
    ----------
    y_true : array_like
        Targets.
    oof_pred : array_like
        Out-of-fold predictions, in the targets' units.
    groups : array_like
        Each row's group (paper).
    coverage : float, default 0.8
        Coverage the intervals are calibrated for.
    n_splits : int, default 5
        Folds of the grouped k-fold.
    random_state : int, default 0
        The folds are drawn with ``random_state + 1``.
    in_domain : array_like of bool, optional
        Each row's out-of-fold domain flag; with it the half-widths are per domain class, as the saved model's
        (:func:`domain_half_widths`).

    Returns
    -------
    numpy.ndarray of bool
        Per row, whether its target is inside.
    """
    y_true, oof_pred = np.asarray(y_true, dtype=float), np.asarray(oof_pred, dtype=float)
    residual = np.abs(y_true - oof_pred)
    inside = np.zeros(len(y_true), dtype=bool)
    for calibrate, test in grouped_folds(len(y_true), groups, n_splits, random_state + 1):
        if in_domain is None:
            width = np.full(len(test), conformal_quantile(residual[calibrate], coverage))
        else:
            flags = np.asarray(in_domain, dtype=bool)
            widths = domain_half_widths(residual[calibrate], flags[calibrate], coverage)
            width = np.where(flags[test], widths["in_domain"], widths["out_of_domain"])
        inside[test] = residual[test] <= width
    return inside
