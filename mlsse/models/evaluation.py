"""Paper-grouped cross-validation of the models against two baselines, with metrics JSON and parity plots.

Baselines, scored on exactly the same folds:
- ``median``: predict the training folds' median;
- ``rf_elements_lattice``: a random forest on element amounts + space-group number + lattice parameters (the
  style of the OBELiX paper's baseline).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.data.schema import composition_key, family_name
from mlsse.models.estimator import grouped_folds
from mlsse.models.metrics import (grouped_interval_coverage, probability_metrics, regression_metrics,
                                  repeat_measurement_deviation)
from mlsse.models.training import feature_matrix, model_for, usable_feature_names
from mlsse.models.training_data import (DETECTION_LIMIT_LOG10_SIGMA, ea_training_rows, paper_group_map,
                                        sigma_training_rows)

_LATTICE = ["space_group_number", "a", "b", "c", "alpha", "beta", "gamma"]


def element_amount_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """Element amounts (reduced formula) + space group + lattice: the RF baseline's inputs; NaN → −1."""
    from mlsse.data.schema import parse_composition

    amounts = [parse_composition(c).reduced_composition.get_el_amt_dict() for c in rows["composition"]]
    frame = pd.DataFrame(amounts).fillna(0.0)
    for column in _LATTICE:
        frame[column] = pd.to_numeric(rows[column], errors="coerce").to_numpy() if column in rows else np.nan
    return frame.fillna(-1.0)


def cross_validate(rows: pd.DataFrame, features: pd.DataFrame, params: dict | None = None, *,
                   target: str = "log10_sigma", seed: int = 0, n_splits: int = 5, pool: pd.DataFrame | None = None,
                   pool_features: pd.DataFrame | None = None, unseen_compositions: bool = False) -> dict:
    """Grouped-CV predictions of our model and both baselines on the same folds; returns per-model metrics,
    per-family MAE, the out-of-fold predictions, for log10 σ ``below_detection`` (how well the held-out
    ``p_sigma_below_detection`` forecasts σ below 1e-10 S/cm: ``probability_metrics``), and
    ``repeat_measurements``: on the rows whose material other papers also measured, the MAE of those papers'
    median value and of our prediction. Our model is :func:`~mlsse.models.training.model_for` ``target`` with
    ``params``.

    Folds split ``rows`` by paper. Each fold's models train on ``pool`` (default: ``rows`` itself) minus every
    row of the fold's papers, so a paper is never on both sides even when other sources repeat it. With
    ``unseen_compositions`` the training side also loses every row whose composition (up to scaling) is in the
    fold, as when judging on held-back papers *and* compositions: the same material measured by another paper
    otherwise leaks its value.
    """
    from sklearn.ensemble import RandomForestRegressor

    if pool is None:
        pool, pool_features = rows, features
    y, groups = rows["target"].to_numpy(dtype=float), rows["group"].to_numpy()
    y_pool, pool_groups = pool["target"].to_numpy(dtype=float), pool["group"].to_numpy()
    names = sorted(set(usable_feature_names(pool_features)))
    X = features.reindex(columns=names).to_numpy(dtype=float)
    X_pool = pool_features.reindex(columns=names).to_numpy(dtype=float)
    rf_columns = element_amount_matrix(pd.concat([rows, pool], ignore_index=True)).columns
    X_rf = element_amount_matrix(rows).reindex(columns=rf_columns, fill_value=0.0).to_numpy(dtype=float)
    X_rf_pool = element_amount_matrix(pool).reindex(columns=rf_columns, fill_value=0.0).to_numpy(dtype=float)
    compositions = rows["composition"].map(composition_key).to_numpy()
    pool_compositions = pool["composition"].map(composition_key).to_numpy()
    folds = grouped_folds(len(y), groups, n_splits, seed)
    predictions = {name: np.full(len(y), np.nan) for name in ("mlsse", "median", "rf_elements_lattice")}
    below_detection = np.full(len(y), np.nan)
    model = model_for(target, names, params, seed=seed)
    for _, test in folds:
        train = ~np.isin(pool_groups, groups[test])
        if unseen_compositions:
            train &= ~np.isin(pool_compositions, compositions[test])
        predictions["mlsse"][test] = model.fit(X_pool[train], y_pool[train]).predict(X[test])
        if target == "log10_sigma":
            below_detection[test] = model.predict_probability_below(X[test], DETECTION_LIMIT_LOG10_SIGMA)
        predictions["median"][test] = np.median(y_pool[train])
        forest = RandomForestRegressor(n_estimators=300, random_state=seed, n_jobs=2)
        predictions["rf_elements_lattice"][test] = forest.fit(X_rf_pool[train], y_pool[train]).predict(X_rf[test])
    families = rows["family"].map(family_name).replace("", "(none)").to_numpy()
    censored = (rows["censored"].fillna(False).astype(bool).to_numpy() if target == "log10_sigma" and "censored" in rows
                else np.zeros(len(y), dtype=bool))
    report = {"n": int(len(y)), "groups": int(len(np.unique(groups))), "n_censored": int(censored.sum()),
              "held_out": "papers+compositions" if unseen_compositions else "papers", "models": {}}
    for name, prediction in predictions.items():
        metrics = regression_metrics(y, prediction)
        # The few censored rows (scored at 1e-15 S/cm) weigh heavily in an MAE, so the measured ones apart.
        metrics["mae_measured"] = float(np.mean(np.abs(prediction - y)[~censored])) if (~censored).any() else None
        metrics["mae_censored"] = float(np.mean(np.abs(prediction - y)[censored])) if censored.any() else None
        metrics["per_family_mae"] = {
            family: float(np.mean(np.abs(prediction[families == family] - y[families == family])))
            for family in sorted(set(families)) if (families == family).sum() >= 5}
        report["models"][name] = metrics
    # The same rows scored two ways: the other papers' median for the material, and our held-out prediction.
    deviation = repeat_measurement_deviation(compositions, groups, y, pool_compositions, pool_groups, y_pool)
    repeated = ~np.isnan(deviation)
    report["repeat_measurements"] = {
        "n": int(repeated.sum()),
        # Equal to the digit: often one measurement that two sources file under different references.
        "n_same_value": int(np.sum(deviation[repeated] < 1e-9)),
        "mae_other_papers": float(np.mean(deviation[repeated])) if repeated.any() else float("nan"),
        "mae_mlsse": float(np.mean(np.abs(predictions["mlsse"] - y)[repeated])) if repeated.any() else float("nan"),
    }
    if target == "log10_sigma":
        # p_sigma_below_detection against σ below the limit, measured or reported as "<1E-10" (labelled −15).
        report["below_detection"] = probability_metrics(y < DETECTION_LIMIT_LOG10_SIGMA, below_detection)
    report["models"]["mlsse"]["coverage_80"] = grouped_interval_coverage(y, predictions["mlsse"], groups, 0.8,
                                                                         n_splits, seed)
    report["_predictions"] = predictions
    report["_y"] = y
    return report


def evaluate(table: pd.DataFrame, obelix: pd.DataFrame, out_dir: str | Path, params: dict | None = None,
             seed: int = 0, repeats: int = 1) -> dict:
    """Run grouped CV on the OBELiX training split (σ) and on the full table (σ and Ea), holding out papers and,
    separately, papers plus their compositions; write ``metrics.json`` and ``parity_*.png`` into ``out_dir``;
    return the metrics keyed ``"<run>/<held out>"``.

    The report and plots are those of the folds drawn with ``seed``. With ``repeats`` > 1 the CV is redrawn with
    seeds ``seed … seed + repeats − 1`` and each run gets ``over_seeds``: every model's MAE per seed, because
    which papers share a fold moves the MAE by a few hundredths and can flip a close comparison.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = params or {}
    obelix_rows, sigma_rows, ea_rows = sigma_training_rows(obelix), sigma_training_rows(table), ea_training_rows(table)
    # One grouping over both tables: OBELiX rows are tested against pools drawn from the full table.
    groups = paper_group_map(pd.concat([table["reference"], obelix["reference"]]))
    for rows in (obelix_rows, sigma_rows, ea_rows):
        rows["group"] = rows["reference"].astype(str).map(groups)
    features = {id(r): feature_matrix(r) for r in (obelix_rows, sigma_rows, ea_rows)}
    # (test rows, training pool): the OBELiX split alone, the OBELiX split with every other paper of the full
    # table available for training, and the full table.
    runs = {
        "obelix_log10_sigma": (obelix_rows, obelix_rows),
        "obelix_log10_sigma_full_training": (obelix_rows, sigma_rows),
        "full_log10_sigma": (sigma_rows, sigma_rows),
        "full_ea_eV": (ea_rows, ea_rows),
    }
    metrics = {}
    for key, (rows, pool) in runs.items():
        target = "ea_eV" if key.endswith("ea_eV") else "log10_sigma"
        for held_out in ("papers", "papers+compositions"):
            name = f"{key}/{held_out}"
            by_seed = {}
            for fold_seed in range(seed, seed + max(1, repeats)):
                report = cross_validate(rows, features[id(rows)], params.get(target), target=target, seed=fold_seed,
                                        pool=pool, pool_features=features[id(pool)],
                                        unseen_compositions=held_out == "papers+compositions")
                by_seed[fold_seed] = {model: m["mae"] for model, m in report["models"].items()}
                if fold_seed == seed:
                    _parity_plot(report, name, out_dir / f"parity_{key}_{held_out.replace('+', '_')}.png")
                    metrics[name] = {k: v for k, v in report.items() if not k.startswith("_")}
            if repeats > 1:
                metrics[name]["over_seeds"] = {
                    "seeds": list(by_seed),
                    "mae": {model: [by_seed[s][model] for s in by_seed] for model in by_seed[seed]},
                }
    from mlsse.data.io import write_text_atomic

    write_text_atomic(json.dumps(metrics, indent=1) + "\n", out_dir / "metrics.json")
    return metrics


def _parity_plot(report: dict, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = report["_y"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), sharex=True, sharey=True)
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    pad = 0.05 * (hi - lo)
    unit = "eV" if "ea" in title else "log10(S/cm)"
    for ax, (name, prediction) in zip(axes, report["_predictions"].items()):
        m = report["models"][name]
        ax.scatter(y, prediction, s=9, alpha=0.5)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1)
        ax.set_title(f"{name}\nMAE {m['mae']:.3f}  R² {m['r2']:.2f}  ρ {m['spearman']:.2f}")
        ax.set_xlabel(f"measured ({unit})")
    axes[0].set_ylabel(f"predicted, grouped CV ({unit})")
    fig.suptitle(f"{title}: {report['n']} rows, {report['groups']} papers, held out: {report['held_out']}")
    fig.tight_layout()
    from mlsse.data.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
