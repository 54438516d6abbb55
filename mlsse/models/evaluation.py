"""The evaluation of ``mlsse evaluate``: the paper-grouped cross-validations of the models against the baselines
(:mod:`mlsse.models.cross_validation`) and of σ away from room temperature (:mod:`mlsse.models.temperature_cv`),
redrawn over fold seeds, with the discovery and within-series summaries, ``metrics.json`` and parity plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.data.references import paper_group_map
from mlsse.io import atomic_path, write_text_atomic
from mlsse.models.cross_validation import CrossValidation, cross_validate
from mlsse.models.ranking import RANKING_WEIGHT, out_of_fold_ranking_scores
from mlsse.models.recipe import feature_matrix, usable_feature_names
from mlsse.models.series import doping_series, series_report
from mlsse.models.targets import ea_training_rows, sigma_temperature_rows, sigma_training_rows
from mlsse.models.temperature_cv import temperature_cross_validate
from mlsse.progress import SILENT

#: The ways each evaluation run holds rows out: papers; papers and their compositions (a new material); and, for
#: σ, composition families (a new family, :func:`~mlsse.models.cross_validation.composition_families`).
HELD_OUT = {"obelix_log10_sigma": ("papers", "papers+compositions"),
            "obelix_log10_sigma_full_training": ("papers", "papers+compositions", "families"),
            "full_log10_sigma": ("papers", "papers+compositions", "families"),
            "full_ea_eV": ("papers", "papers+compositions")}
#: The query columns that carry a structure: left blank for the composition-only view of the OBELiX rows.
STRUCTURE_INPUT_COLUMNS = ("space_group", "space_group_number", "a", "b", "c", "alpha", "beta", "gamma", "cif")


def evaluate(table: pd.DataFrame, obelix: pd.DataFrame, out_dir: str | Path, params: dict | None = None,
             seed: int = 0, repeats: int = 1, progress=None) -> dict:
    """Evaluate the models by paper-grouped CV against the baselines; write metrics and parity plots.

    The runs: the OBELiX training split (σ) alone and with the full table as training pool, and the full table
    (σ and Ea), each holding out papers and, separately, papers plus their compositions
    (:func:`~mlsse.models.cross_validation.cross_validate`); and σ away from room temperature
    (:func:`~mlsse.models.temperature_cv.temperature_cross_validate`). The report and plots are those of the
    folds drawn with ``seed``.

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.
    obelix : pandas.DataFrame
        The OBELiX training split as curated rows (:func:`~mlsse.data.obelix.load_obelix`).
    out_dir : str or pathlib.Path
        Where ``metrics.json`` and ``parity_*.png`` are written; created if missing.
    params : dict, optional
        Per target (``"log10_sigma"``, ``"ea_eV"``), the models' hyper-parameters (e.g. a saved model's).
    seed : int, default 0
        Seed of the folds and the models.
    repeats : int, default 1
        With more than 1, the CV is redrawn with seeds ``seed … seed + repeats − 1`` and each run gets
        ``over_seeds``: every model's MAE per seed, since which papers share a fold moves the MAE enough to
        flip a close comparison.
    progress : mlsse.progress.Progress, optional
        Receives one step per cross-validation.

    Returns
    -------
    dict
        The metrics keyed ``"<run>/<held out>"`` (:func:`~mlsse.models.cross_validation.cross_validate`'s
        reports), and ``full_log10_sigma_at_temperature/papers``
        (:func:`~mlsse.models.temperature_cv.temperature_cross_validate`).
    """
    progress = progress or SILENT
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = params or {}
    obelix_rows, sigma_rows, ea_rows = sigma_training_rows(obelix), sigma_training_rows(table), ea_training_rows(table)
    # One grouping over both tables: OBELiX rows are tested against pools drawn from the full table.
    groups = paper_group_map(pd.concat([table["reference"], obelix["reference"]]))
    temperature_rows = sigma_temperature_rows(table)
    for rows in (obelix_rows, sigma_rows, ea_rows, temperature_rows):
        rows["group"] = rows["reference"].astype(str).map(groups)
    features = {id(r): feature_matrix(r) for r in (obelix_rows, sigma_rows, ea_rows, temperature_rows)}
    # The OBELiX rows as a user with the composition alone asks for them: no space group, lattice or CIF.
    obelix_plain = feature_matrix(obelix_rows.assign(**{c: np.nan for c in STRUCTURE_INPUT_COLUMNS
                                                        if c in obelix_rows}))
    # (test rows, training pool): the OBELiX split alone, the OBELiX split with every other paper of the full
    # table available for training, and the full table.
    runs = {
        "obelix_log10_sigma": (obelix_rows, obelix_rows),
        "obelix_log10_sigma_full_training": (obelix_rows, sigma_rows),
        "full_log10_sigma": (sigma_rows, sigma_rows),
        "full_ea_eV": (ea_rows, ea_rows),
    }
    metrics = {}
    within = {"log10_sigma": [], "ea_eV": []}  # the within-series scores of each fold seed
    total = sum(len(HELD_OUT[key]) for key in runs) * max(1, repeats) + 1
    with progress.task("grouped cross-validations", total=total) as advance:
        for key, (rows, pool) in runs.items():
            target = "ea_eV" if key.endswith("ea_eV") else "log10_sigma"
            for held_out in HELD_OUT[key]:
                name = f"{key}/{held_out}"
                by_seed, discovery_by_seed = {}, {}
                for fold_seed in range(seed, seed + max(1, repeats)):
                    ea = target == "ea_eV"  # the Ea model reads a σ model's prediction, as the saved one does
                    run = cross_validate(rows, features[id(rows)], params if ea else params.get(target),
                                         target=target, seed=fold_seed, pool=pool, pool_features=features[id(pool)],
                                         sigma_pool=(sigma_rows, features[id(sigma_rows)]) if ea else None,
                                         unseen_compositions=held_out == "papers+compositions",
                                         unseen_families=held_out == "families",
                                         composition_only_features=obelix_plain if rows is obelix_rows else None)
                    advance(1)
                    by_seed[fold_seed] = {model: m["mae"] for model, m in run.report["models"].items()}
                    if target == "log10_sigma":
                        discovery_by_seed[fold_seed] = _discovery_summary(run.report)
                    if key in ("full_log10_sigma", "full_ea_eV") and held_out == "papers":
                        within[target].append(_series_report(rows, features[id(rows)], run, target, fold_seed))
                    if fold_seed == seed:
                        _parity_plot(run, name, out_dir / f"parity_{key}_{held_out.replace('+', '_')}.png")
                        metrics[name] = dict(run.report)
                if repeats > 1:
                    metrics[name]["over_seeds"] = {
                        "seeds": list(by_seed),
                        "mae": {model: [by_seed[s][model] for s in by_seed] for model in by_seed[seed]},
                    }
                if discovery_by_seed:
                    metrics[name]["discovery_over_seeds"] = {
                        "seeds": list(discovery_by_seed),
                        **{view: {figure: [discovery_by_seed[s][view][figure] for s in discovery_by_seed]
                                  for figure in discovery_by_seed[seed][view]}
                           for view in discovery_by_seed[seed]}}
        for target, reports in within.items():
            if reports:
                metrics[f"within_series_{target}/papers"] = _over_seeds(reports, list(range(seed, seed + len(reports))))
        metrics["full_log10_sigma_at_temperature/papers"] = temperature_cross_validate(
            sigma_rows, ea_rows, temperature_rows, {"sigma": features[id(sigma_rows)], "ea": features[id(ea_rows)],
                                                    "temperature": features[id(temperature_rows)]}, params, seed=seed)
        advance(1)
    write_text_atomic(json.dumps(metrics, indent=1) + "\n", out_dir / "metrics.json")
    return metrics


def _discovery_summary(report: dict) -> dict:
    """The discovery figures one run reports per fold seed: per view (mlsse, the forest, mlsse with the composition
    alone) the σ ≥ 1e-3 S/cm precision, recall and F1, the top-10 and top-2 % precision, the picks to find 3 of the
    top 5 %, the top and bottom deciles' mean error and the largest |mean error| of a decile (log10 S/cm)."""
    views = {"mlsse": report["models"]["mlsse"]["discovery"],
             "rf_elements_lattice": report["models"]["rf_elements_lattice"]["discovery"]}
    if "composition_only" in report:
        views["mlsse_composition_only"] = report["composition_only"]["discovery"]
    out = {}
    for view, d in views.items():
        fast = d["1e-03"]
        out[view] = {"precision_1e-3": fast["precision"], "recall_1e-3": fast["recall"], "f1_1e-3": fast["f1"],
                     "top10_precision_1e-3": fast["top"]["10"]["precision"],
                     "top2pct_precision_1e-3": fast["top"]["2%"]["precision"],
                     "picks_to_find_3_of_top_5pct": d["picks_to_find_3_of_top_5pct"],
                     "top_decile_mean_error": d["decile_mean_error"][-1],
                     "bottom_decile_mean_error": d["decile_mean_error"][0],
                     "worst_decile_abs_mean_error": float(np.max(np.abs(d["decile_mean_error"])))}
    return out


def _series_report(rows: pd.DataFrame, features: pd.DataFrame, run: CrossValidation, target: str, seed: int) -> dict:
    """The within-series scores of one cross-validation run's held-out predictions
    (:func:`~mlsse.models.series.series_report`).

    For σ, mlsse's order is the regressor's held-out prediction plus the ranking member's held-out score
    (:data:`~mlsse.models.ranking.RANKING_WEIGHT` times a :class:`~mlsse.models.ranking.SeriesRanker` fit on the
    run's other folds), as :meth:`~mlsse.models.predictor.Predictor.relative_log10_sigma` orders a scan; the
    regressor alone and the "Li per anion" baseline (more Li per anion conducts better) are scored beside it. The
    paired interval is checked on the run's folds."""
    fold_of_group = run.fold_of_group
    predicted = run.predictions["mlsse"]
    if target != "log10_sigma":
        return series_report(rows, predicted, {}, fold_of_group)
    X = features.reindex(columns=sorted(set(usable_feature_names(features)))).to_numpy(dtype=float)
    series = doping_series(rows)
    scores = out_of_fold_ranking_scores(X, series, fold_of_group, seed)
    # The ranker scores members, so its contribution goes to each member's rows.
    ranked = np.zeros(len(rows))
    for positions, score in zip(series["rows"], scores):
        ranked[positions] = score
    return series_report(rows, predicted + RANKING_WEIGHT * ranked,
                         {"regressor_alone": predicted,
                          "li_per_anion": features["Li per anion"].to_numpy(dtype=float)}, fold_of_group)


def _over_seeds(reports: list[dict], seeds: list[int]) -> dict:
    """The first fold seed's within-series report, with each summary figure per seed under ``over_seeds``."""
    out = dict(reports[0])
    keys = ("spearman", "top1", "chance", "top1_vs_chance", "pairs_right", "offset_free_mae", "flat_mae")
    out["over_seeds"] = {"seeds": seeds, **{
        model: {key: [r[model][key] for r in reports] for key in keys}
        for model in reports[0] if model not in ("paired_interval", "seed_series")}}
    if "paired_interval" in reports[0]:
        out["over_seeds"]["paired_interval"] = {"coverage": [r["paired_interval"]["coverage"] for r in reports],
                                                "mean_half_width": [r["paired_interval"]["mean_half_width"]
                                                                    for r in reports]}
    out["over_seeds"]["seed_series"] = {name: {"spearman": [r["seed_series"][name]["spearman"] for r in reports],
                                               "predicted_best": [r["seed_series"][name]["predicted_best"]
                                                                  for r in reports]}
                                        for name in reports[0]["seed_series"]}
    return out


def _parity_plot(run: CrossValidation, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report, y = run.report, run.y
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), sharex=True, sharey=True)
    lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
    pad = 0.05 * (hi - lo)
    unit = "eV" if "ea" in title else "log10(S/cm)"
    for ax, (name, prediction) in zip(axes, run.predictions.items()):
        m = report["models"][name]
        ax.scatter(y, prediction, s=9, alpha=0.5)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1)
        ax.set_title(f"{name}\nMAE {m['mae']:.3f}  R² {m['r2']:.2f}  ρ {m['spearman']:.2f}")
        ax.set_xlabel(f"measured ({unit})")
    axes[0].set_ylabel(f"predicted, grouped CV ({unit})")
    fig.suptitle(f"{title}: {report['n']} rows, {report['groups']} papers, held out: {report['held_out']}")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
