"""Regression metrics and interval coverage, computed the same way everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def regression_metrics(y_true, y_pred) -> dict:
    """Return n, MAE, RMSE, R² and Spearman ρ of predictions against targets.

    Parameters
    ----------
    y_true : array_like
        Targets.
    y_pred : array_like
        Predictions, in the targets' units.

    Returns
    -------
    dict
        ``n``, ``mae``, ``rmse`` (the targets' units), ``r2`` (NaN for constant targets) and ``spearman`` (NaN
        for fewer than 3 rows).
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    error = y_pred - y_true
    total = np.sum((y_true - y_true.mean()) ** 2)
    return {
        "n": int(len(y_true)),
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error ** 2))),
        "r2": float(1 - np.sum(error ** 2) / total) if total > 0 else float("nan"),
        "spearman": float(spearmanr(y_true, y_pred).statistic) if len(y_true) > 2 else float("nan"),
    }


def probability_metrics(event, probability, edges=(0.0, 0.05, 0.2, 0.5, 0.8, 1.0)) -> dict:
    """Return how well a probability forecasts a yes/no event.

    Parameters
    ----------
    event : array_like of bool
        Whether the event happened, per row.
    probability : array_like of float
        The forecast probability, per row.
    edges : sequence of float, default (0, 0.05, 0.2, 0.5, 0.8, 1)
        Bin edges of the reliability table; the last bin includes 1.

    Returns
    -------
    dict
        ``n``, ``n_events``, ``roc_auc`` (None unless both outcomes occur), ``brier``, ``brier_base_rate`` (the
        Brier score of always forecasting the base rate) and ``bins``: per bin ``from``, ``to``, ``n``,
        ``mean_probability`` and ``observed_rate`` (None for an empty bin).
    """
    from sklearn.metrics import roc_auc_score

    event, probability = np.asarray(event, dtype=bool), np.asarray(probability, dtype=float)
    index = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, len(edges) - 2)
    bins = [{"from": edges[k], "to": edges[k + 1], "n": int((index == k).sum()),
             "mean_probability": float(probability[index == k].mean()) if (index == k).any() else None,
             "observed_rate": float(event[index == k].mean()) if (index == k).any() else None}
            for k in range(len(edges) - 1)]
    both_classes = 0 < event.sum() < len(event)
    return {"n": int(len(event)), "n_events": int(event.sum()),
            "roc_auc": float(roc_auc_score(event, probability)) if both_classes else None,
            "brier": float(np.mean((probability - event) ** 2)),
            "brier_base_rate": float(np.mean((event.mean() - event) ** 2)), "bins": bins}


def repeat_measurement_deviation(compositions, groups, values, pool_compositions=None, pool_groups=None,
                                 pool_values=None) -> np.ndarray:
    """Return, per row, how far the other papers that measured its material are from its value.

    The scatter between papers that measured one material: how far another lab's number would have been from
    this row's. Each paper counts once however many rows it has.

    Parameters
    ----------
    compositions : array_like
        Comparable composition keys, e.g. :func:`mlsse.chemistry.composition_key`.
    groups : array_like
        Each row's paper.
    values : array_like
        Each row's value.
    pool_compositions, pool_groups, pool_values : array_like, optional
        The rows the other papers' values come from; default the rows themselves.

    Returns
    -------
    numpy.ndarray
        |value − median over the *other* papers of each paper's median value for the same composition|, in the
        units of ``values``; NaN for rows no other paper measured.
    """
    if pool_compositions is None:
        pool_compositions, pool_groups, pool_values = compositions, groups, values
    pool = pd.DataFrame({"composition": pool_compositions, "group": pool_groups,
                         "value": np.asarray(pool_values, dtype=float)})
    per_paper = pool.groupby(["composition", "group"], sort=False)["value"].median().reset_index()
    by_composition = {key: frame for key, frame in per_paper.groupby("composition", sort=False)}
    deviation = np.full(len(compositions), np.nan)
    for i, (composition, group, value) in enumerate(zip(compositions, groups, np.asarray(values, dtype=float))):
        measured = by_composition.get(composition)
        if measured is None:
            continue
        others = measured.loc[measured["group"] != group, "value"]
        if len(others):
            deviation[i] = abs(value - float(others.median()))
    return deviation
