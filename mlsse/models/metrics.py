"""Regression metrics and interval coverage, computed the same way everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def regression_metrics(y_true, y_pred) -> dict:
    """Return n, MAE, RMSE, R² and Spearman ρ of ``y_pred`` against ``y_true``."""
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
    """Return how well ``probability`` forecasts the 0/1 ``event``: counts, ROC AUC, the Brier score and that of
    always forecasting the base rate, and reliability bins between ``edges`` (n, mean probability, observed
    rate; the last bin includes 1)."""
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
    """Per row, |value − median over the *other* papers of each paper's median value for the same composition|
    (units of ``values``).

    The scatter between papers that measured one material: how far another lab's number would have been from
    this row's. Each paper counts once however many rows it has. Rows no other paper measured get NaN. The other
    papers' values come from the ``pool_*`` arrays (default: the rows themselves); compositions are comparable
    keys, e.g. :func:`mlsse.chemistry.composition_key`.
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
