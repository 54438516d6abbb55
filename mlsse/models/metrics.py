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


#: log10 σ (S/cm) thresholds of a fast conductor the discovery metrics are computed at: 0.1 and 1 mS/cm.
DISCOVERY_THRESHOLDS_LOG10_SIGMA = (-4.0, -3.0)


def discovery_metrics(y_true, y_pred, thresholds=DISCOVERY_THRESHOLDS_LOG10_SIGMA, measured=None) -> dict:
    """Return how well predictions pick out the fast conductors: what a screen or a doping scan decides with.

    Matbench Discovery's figures, at each threshold of a fast conductor: the precision, recall and F1 of
    "predicted at or above the threshold"; the precision and the discovery acceleration factor (precision over
    prevalence) of the top 10, top 2 % and top 5 % of predictions; and the picks, in order of predicted σ, a
    retrospective replay needs to find 3 of the top-5 % materials by measured σ, with random picking's expected
    number beside it. The mean error of each decile of measured σ says whether predictions are flattened.

    Parameters
    ----------
    y_true : array_like
        Measured log10 σ, log10 S/cm (censored rows at their label, e.g. −15).
    y_pred : array_like
        Predicted log10 σ, log10 S/cm.
    thresholds : sequence of float, default (−4, −3)
        log10 σ (S/cm) at or above which a material counts as a fast conductor.
    measured : array_like of bool, optional
        Rows with a measured (not censored) value: only they are cut into deciles. Default: every row.

    Returns
    -------
    dict
        ``n``; per threshold (keyed ``"1e-04"`` …, S/cm) ``prevalence``, ``n_positive``, ``precision``,
        ``recall``, ``f1`` (None where undefined), ``top`` (per ``"10"``, ``"2%"``, ``"5%"``: ``k``,
        ``precision``, ``daf``); ``picks_to_find_3_of_top_5pct`` and ``random_picks_to_find_3_of_top_5pct``
        (the expected position of the third hit among random picks, 3·(n + 1)/(K + 1) for K targets);
        ``decile_mean_error``: per decile of measured σ, lowest first, the mean of predicted − measured (log10
        S/cm) and ``decile_edges`` (log10 S/cm).
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    n = len(y_true)
    order = np.argsort(-y_pred, kind="stable")
    out = {"n": int(n)}
    for threshold in thresholds:
        positive, called = y_true >= threshold, y_pred >= threshold
        precision = float(positive[called].mean()) if called.any() else None
        recall = float(called[positive].mean()) if positive.any() else None
        f1 = (2 * precision * recall / (precision + recall)) if precision and recall else None
        prevalence = float(positive.mean()) if n else float("nan")
        top = {}
        for name, k in (("10", 10), ("2%", round(0.02 * n)), ("5%", round(0.05 * n))):
            k = int(min(max(k, 1), n))
            hit_rate = float(positive[order[:k]].mean())
            top[name] = {"k": k, "precision": hit_rate, "daf": hit_rate / prevalence if prevalence > 0 else None}
        out[f"{10 ** threshold:.0e}"] = {"prevalence": prevalence, "n_positive": int(positive.sum()),
                                          "precision": precision, "recall": recall, "f1": f1, "top": top}
    n_targets = max(3, int(round(0.05 * n)))
    targets = np.zeros(n, dtype=bool)
    targets[np.argsort(-y_true, kind="stable")[:n_targets]] = True
    found = np.cumsum(targets[order])
    out["n_top_5pct"] = int(n_targets)
    out["picks_to_find_3_of_top_5pct"] = int(np.argmax(found >= 3) + 1) if n >= 3 else None
    out["random_picks_to_find_3_of_top_5pct"] = 3.0 * (n + 1) / (n_targets + 1)
    keep = np.ones(n, dtype=bool) if measured is None else np.asarray(measured, dtype=bool)
    ranked = np.flatnonzero(keep)[np.argsort(y_true[keep], kind="stable")]
    deciles = [part for part in np.array_split(ranked, 10) if len(part)]
    out["decile_mean_error"] = [float(np.mean(y_pred[part] - y_true[part])) for part in deciles]
    out["decile_edges"] = [float(y_true[part].min()) for part in deciles] + (
        [float(y_true[deciles[-1]].max())] if deciles else [])
    return out
