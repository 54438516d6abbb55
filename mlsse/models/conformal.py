"""Split-conformal prediction intervals: the quantile of held-out residuals, per applicability-domain class
(Mondrian), and their coverage on held-out papers."""

from __future__ import annotations

import math

import numpy as np

from mlsse.models.splits import grouped_folds


def conformal_quantile(residuals, coverage: float) -> float:
    """Return the split-conformal half-width: the ⌈(n+1)·coverage⌉-th smallest absolute residual."""
    residuals = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    n = len(residuals)
    rank = min(n, math.ceil((n + 1) * coverage))
    return float(residuals[rank - 1])


#: A domain class (in or out) with fewer out-of-fold residuals than this takes the quantile over all rows.
MIN_CLASS_RESIDUALS = 30


def domain_half_widths(residuals, in_domain, coverage: float = 0.8,
                       min_rows: int = MIN_CLASS_RESIDUALS) -> dict[str, float]:
    """Return Mondrian split-conformal half-widths ``{"in_domain": …, "out_of_domain": …}`` (target units): each
    the conformal quantile of its own class's out-of-fold residuals, so that each class is covered at
    ``coverage``, not only the two together (out-of-domain queries err about twice as much). A class with fewer
    than ``min_rows`` residuals takes the quantile over all rows, and the out-of-domain width is never below the
    in-domain one."""
    residuals, in_domain = np.abs(np.asarray(residuals, dtype=float)), np.asarray(in_domain, dtype=bool)
    overall = conformal_quantile(residuals, coverage)
    widths = {name: conformal_quantile(residuals[mask], coverage) if mask.sum() >= min_rows else overall
              for name, mask in (("in_domain", in_domain), ("out_of_domain", ~in_domain))}
    widths["out_of_domain"] = max(widths["out_of_domain"], widths["in_domain"])
    return widths


def grouped_interval_coverage(y_true, oof_pred, groups, coverage=0.8, n_splits=5, random_state=0,
                              in_domain=None) -> float:
    """Coverage of the conformal interval on held-out papers (the mean of :func:`grouped_interval_hits`)."""
    return float(np.mean(grouped_interval_hits(y_true, oof_pred, groups, coverage, n_splits, random_state,
                                               in_domain)))


def grouped_interval_hits(y_true, oof_pred, groups, coverage=0.8, n_splits=5, random_state=0,
                          in_domain=None) -> np.ndarray:
    """Per row, whether its target lies in the conformal interval calibrated without its paper.

    For each grouped fold, the half-width is calibrated on the out-of-fold residuals of the *other* folds and
    this fold's targets are checked against ``prediction ± half-width``. With ``in_domain`` (each row's
    out-of-fold domain flag) the half-widths are per domain class, as the saved model's
    (:func:`~mlsse.models.conformal.domain_half_widths`).
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
