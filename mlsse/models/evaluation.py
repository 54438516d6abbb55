"""Paper-grouped cross-validation of the models against two baselines, with metrics JSON and parity plots; and
the comparison of a previous and a new model on the same folds (:func:`compare_on_same_folds`).

Baselines, scored on exactly the same folds:
- ``median``: predict the training folds' median;
- ``rf_elements_lattice``: a random forest on element amounts + space-group number + lattice parameters (the
  style of the OBELiX paper's baseline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.chemistry import composition_key, parse_composition
from mlsse.data.references import paper_group_map
from mlsse.data.schema import family_name
from mlsse.features.preset import ELEMENT_FRACTION_LABELS
from mlsse.io import atomic_path, write_text_atomic
from mlsse.models.conformal import domain_half_widths, grouped_interval_hits
from mlsse.models.domain import ApplicabilityDomain
from mlsse.models.evidence import MeasuredCompositions, anchored_log10_sigma, evidence_key
from mlsse.models.metrics import (
    discovery_metrics,
    probability_metrics,
    regression_metrics,
    repeat_measurement_deviation,
)
from mlsse.models.ranking import RANKING_WEIGHT, out_of_fold_ranking_scores
from mlsse.models.series import doping_series, series_report
from mlsse.models.splits import fold_of_each_group, grouped_folds
from mlsse.models.targets import (
    DETECTION_LIMIT_LOG10_SIGMA,
    ea_training_rows,
    sigma_temperature_rows,
    sigma_training_rows,
)
from mlsse.models.fitting import (
    composition_elements,
    domain_feature_names,
    feature_matrix,
    model_for,
    target_rows,
    usable_feature_names,
)
from mlsse.progress import SILENT
from mlsse.temperature import log10_sigma_at, temperature_half_width_extra

_LATTICE = ["space_group_number", "a", "b", "c", "alpha", "beta", "gamma"]


@dataclass
class CrossValidation:
    """One cross-validation run (:func:`cross_validate`): its report, and the held-out predictions behind it.

    Attributes
    ----------
    report : dict
        The figures, ready for ``metrics.json`` (see :func:`cross_validate`).
    predictions : dict of str to numpy.ndarray
        Per model (``mlsse``, ``median``, ``rf_elements_lattice``), each row's out-of-fold prediction (the target's
        unit: log10 S/cm or eV).
    y : numpy.ndarray
        The rows' targets, in the same unit.
    fold_of_group : dict
        Each group's (paper's, or family's) fold (:func:`~mlsse.models.splits.fold_of_each_group`).
    """

    report: dict
    predictions: dict = field(default_factory=dict)
    y: np.ndarray | None = None
    fold_of_group: dict = field(default_factory=dict)


def element_amount_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the random-forest baseline's inputs: element amounts, space-group number and lattice constants.

    Parameters
    ----------
    rows : pandas.DataFrame
        Curated rows.

    Returns
    -------
    pandas.DataFrame
        One column per element (amount in the reduced formula, 0 if absent), then ``space_group_number`` and
        ``a``, ``b``, ``c`` (Å), ``alpha``, ``beta``, ``gamma`` (degrees); missing values are −1.
    """
    amounts = [parse_composition(c).reduced_composition.get_el_amt_dict() for c in rows["composition"]]
    frame = pd.DataFrame(amounts).fillna(0.0)
    for column in _LATTICE:
        frame[column] = pd.to_numeric(rows[column], errors="coerce").to_numpy() if column in rows else np.nan
    return frame.fillna(-1.0)


def cross_validate(rows: pd.DataFrame, features: pd.DataFrame, params: dict | None = None, *,
                   target: str = "log10_sigma", seed: int = 0, n_splits: int = 5, pool: pd.DataFrame | None = None,
                   pool_features: pd.DataFrame | None = None, unseen_compositions: bool = False,
                   unseen_families: bool = False, composition_only_features: pd.DataFrame | None = None
                   ) -> CrossValidation:
    """Cross-validate the model and both baselines on the same paper-grouped folds.

    Our model is :func:`~mlsse.models.fitting.model_for` ``target`` with ``params``. Its 80 % interval coverage
    is reported overall and per domain class, the intervals calibrated per class as the saved model's are. Each
    held-out row is flagged by an applicability domain fitted on the fold's training side of this run, on the
    leading composition descriptors of the model evaluated; the saved model's domain uses the σ model's
    descriptors over σ and Ea rows together, so for Ea especially the rows counted out of domain differ somewhat
    from the model card's.

    Folds split ``rows`` by paper. Each fold's models train on ``pool`` minus every row of the fold's papers, so
    a paper is never on both sides even when other sources repeat it.

    Parameters
    ----------
    rows : pandas.DataFrame
        The rows scored, with ``target`` (log10 S/cm or eV) and ``group`` (paper) columns
        (:mod:`mlsse.models.targets`).
    features : pandas.DataFrame
        Their feature table, row for row.
    params : dict, optional
        Hyper-parameters of our model (e.g. a saved model's for this target).
    target : str, default "log10_sigma"
        ``"log10_sigma"`` or ``"ea_eV"``.
    seed : int, default 0
        Seed of the folds and the models.
    n_splits : int, default 5
        Number of folds.
    pool : pandas.DataFrame, optional
        The rows the models may train on, as ``rows``; default ``rows`` itself.
    pool_features : pandas.DataFrame, optional
        Their feature table; needed with ``pool``.
    unseen_compositions : bool, default False
        The training side also loses every row whose composition (up to scaling) is in the fold, as when
        judging on held-back papers *and* compositions: the same material measured by another paper otherwise
        leaks its value.
    unseen_families : bool, default False
        Hold out families instead (LOCO-CV): the folds group :func:`composition_families` of ``rows`` and
        ``pool`` together, and the training side loses every row of the fold's families, papers and
        compositions: the case of a user's new family.
    composition_only_features : pandas.DataFrame, optional
        ``rows``' features with their structure inputs (space group, lattice, CIF) left out: the same fold models
        predict them too, as a user with the composition alone would be answered (``composition_only``).

    Returns
    -------
    CrossValidation
        The out-of-fold predictions, the targets, the folds, and the ``report``: ``n``, ``groups``,
        ``n_censored``, ``held_out``; ``models``: per model (``mlsse``, ``median``,
        ``rf_elements_lattice``) the :func:`~mlsse.models.metrics.regression_metrics`, the MAE of measured and
        of censored rows, and the per-family MAE (families with at least 5 rows), and for ``mlsse`` the 80 %
        interval coverage and MAE overall and per domain class; ``repeat_measurements``: on the rows whose
        material other papers also measured, the MAE of those papers' median value and of our prediction; for
        log10 σ ``below_detection``: how well the held-out ``p_sigma_below_detection`` forecasts σ below 1e-10
        S/cm (:func:`~mlsse.models.metrics.probability_metrics`) and, for ``mlsse`` and the forest,
        ``discovery`` (:func:`~mlsse.models.metrics.discovery_metrics`); with ``composition_only_features``,
        ``composition_only``: mlsse's MAE (all and measured rows) and discovery on them.

    For log10 σ, mlsse's prediction of a held-out row whose composition the fold's training side measured is the
    median of those measurements, as the saved model answers a known composition
    (:func:`~mlsse.models.evidence.anchored_log10_sigma`).
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
    if unseen_families:
        from sklearn.model_selection import GroupKFold

        family_of = composition_families(pd.concat([features, pool_features], ignore_index=True),
                                         np.concatenate([compositions, pool_compositions]), seed=seed)
        row_families, pool_families = family_of[:len(y)], family_of[len(y):]
        folds = list(GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(X, groups=row_families))
    else:
        folds = grouped_folds(len(y), groups, n_splits, seed)
    predictions = {name: np.full(len(y), np.nan) for name in ("mlsse", "median", "rf_elements_lattice")}
    composition_only = np.full(len(y), np.nan)
    X_plain = (composition_only_features.reindex(columns=names).to_numpy(dtype=float)
               if composition_only_features is not None else None)
    sigma = target == "log10_sigma"
    if sigma:
        def keys_of(frame):
            return [evidence_key(c, a, w) for c, a, w in zip(
                frame["composition"], frame["additive"] if "additive" in frame else [None] * len(frame),
                frame["additive_wt_pct"] if "additive_wt_pct" in frame else [None] * len(frame))]

        row_keys, pool_keys = keys_of(rows), np.array(keys_of(pool), dtype=object)
        pool_censored = (pool["censored"].fillna(False).astype(bool).to_numpy() if "censored" in pool
                         else np.zeros(len(pool), dtype=bool))
    below_detection = np.full(len(y), np.nan)
    in_domain = np.zeros(len(y), dtype=bool)
    elements = [composition_elements(c) for c in rows["composition"]]
    pool_elements = [composition_elements(c) for c in pool["composition"]]
    model = model_for(target, names, params, seed=seed)
    for _, test in folds:
        train = ~np.isin(pool_groups, groups[test])
        if unseen_compositions or unseen_families:
            train &= ~np.isin(pool_compositions, compositions[test])
        if unseen_families:
            train &= ~np.isin(pool_families, row_families[test])
        model.fit(X_pool[train], y_pool[train])
        if sigma:  # one pass of the members gives σ and the probability below detection
            predictions["mlsse"][test], below_detection[test] = model.predict_with_probability_below(
                X[test], DETECTION_LIMIT_LOG10_SIGMA)
            known = MeasuredCompositions.from_rows(pool["composition"].to_numpy()[train], y_pool[train],
                                                   pool_censored[train], pool_groups[train], keys=pool_keys[train])
            records = known.records([row_keys[i] for i in test])
            predictions["mlsse"][test] = anchored_log10_sigma(predictions["mlsse"][test], records)[0]
            if X_plain is not None:
                composition_only[test] = anchored_log10_sigma(model.predict(X_plain[test]), records)[0]
        else:
            predictions["mlsse"][test] = model.predict(X[test])
        # The flag the held-out rows would get from a model trained on this fold's training side.
        columns = [names.index(n) for n in domain_feature_names(model, names)]
        domain = ApplicabilityDomain().fit(X_pool[train][:, columns],
                                           [pool_elements[i] for i in np.flatnonzero(train)])
        in_domain[test] = domain.assess(X[test][:, columns], [elements[i] for i in test])[0]
        predictions["median"][test] = np.median(y_pool[train])
        forest = RandomForestRegressor(n_estimators=300, random_state=seed, n_jobs=2)
        predictions["rf_elements_lattice"][test] = forest.fit(X_rf_pool[train], y_pool[train]).predict(X_rf[test])
    families = rows["family"].map(family_name).replace("", "(none)").to_numpy()
    censored = (rows["censored"].fillna(False).astype(bool).to_numpy() if target == "log10_sigma" and "censored" in rows
                else np.zeros(len(y), dtype=bool))
    report = {"n": int(len(y)), "groups": int(len(np.unique(groups))), "n_censored": int(censored.sum()),
              "held_out": ("families" if unseen_families else "papers+compositions" if unseen_compositions else "papers"),
              "models": {}}
    for name, prediction in predictions.items():
        metrics = regression_metrics(y, prediction)
        # The few censored rows (scored at 1e-15 S/cm) weigh heavily in an MAE, so the measured ones apart.
        metrics["mae_measured"] = float(np.mean(np.abs(prediction - y)[~censored])) if (~censored).any() else None
        metrics["mae_censored"] = float(np.mean(np.abs(prediction - y)[censored])) if censored.any() else None
        metrics["per_family_mae"] = {
            family: float(np.mean(np.abs(prediction[families == family] - y[families == family])))
            for family in sorted(set(families)) if (families == family).sum() >= 5}
        if sigma and name != "median":
            metrics["discovery"] = discovery_metrics(y, prediction, measured=~censored)
        report["models"][name] = metrics
    if X_plain is not None:
        report["composition_only"] = {
            "mae": float(np.mean(np.abs(composition_only - y))),
            "mae_measured": float(np.mean(np.abs(composition_only - y)[~censored])) if (~censored).any() else None,
            "discovery": discovery_metrics(y, composition_only, measured=~censored)}
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
    hits = grouped_interval_hits(y, predictions["mlsse"], groups, 0.8, n_splits, seed, in_domain)
    error = np.abs(predictions["mlsse"] - y)
    report["models"]["mlsse"].update({
        "coverage_80": float(hits.mean()),
        "coverage_80_in_domain": float(hits[in_domain].mean()) if in_domain.any() else None,
        "coverage_80_out_of_domain": float(hits[~in_domain].mean()) if (~in_domain).any() else None,
        "n_out_of_domain": int((~in_domain).sum()),
        "mae_in_domain": float(error[in_domain].mean()) if in_domain.any() else None,
        "mae_out_of_domain": float(error[~in_domain].mean()) if (~in_domain).any() else None,
    })
    return CrossValidation(report=report, predictions=predictions, y=y, fold_of_group=fold_of_each_group(groups, folds))


#: Composition families of the leave-family-out split: k-means clusters of the atomic fractions (LOCO-CV, Meredig
#: et al., Mol. Syst. Des. Eng. 3, 819 (2018)). Twelve on the curated table come out as the structural families a
#: chemist would name (NASICON, garnet, LISICON, perovskite, argyrodite and thio-LISICON, LGPS and thiophosphates,
#: halides, nitrides, hydrides, antiperovskites, …).
N_FAMILIES = 12


def composition_families(features: pd.DataFrame, keys, n_families: int = N_FAMILIES, seed: int = 0) -> np.ndarray:
    """Return each row's composition family: k-means on the element fractions of the distinct compositions.

    Parameters
    ----------
    features : pandas.DataFrame
        Feature rows (their element-fraction columns are read).
    keys : array_like
        Each row's composition key (:func:`mlsse.chemistry.composition_key`): each composition counts once.
    n_families : int, default :data:`N_FAMILIES`
        Clusters.
    seed : int, default 0
        Seed of the k-means.

    Returns
    -------
    numpy.ndarray of int
        The family of each row.
    """
    from sklearn.cluster import KMeans

    fractions = features.reindex(columns=ELEMENT_FRACTION_LABELS).fillna(0.0).to_numpy(dtype=float)
    _, first = np.unique(np.asarray(keys, dtype=str), return_index=True)
    clusters = KMeans(n_clusters=min(n_families, len(first)), random_state=seed, n_init=10).fit(fractions[first])
    return clusters.predict(fractions)


#: Temperature bands (°C, upper bound included) σ(T) is reported in; room temperature (15–35 °C) is not one.
TEMPERATURE_BANDS_C = ((-np.inf, 15.0), (35.0, 100.0), (100.0, 200.0), (200.0, 400.0), (400.0, np.inf))


def _band_label(lo: float, hi: float) -> str:
    return f"below {hi:g}" if lo == -np.inf else f"above {lo:g}" if hi == np.inf else f"{lo:g} to {hi:g}"


def temperature_cross_validate(sigma_rows: pd.DataFrame, ea_rows: pd.DataFrame, temperature_rows: pd.DataFrame,
                               features: dict, params: dict | None = None, *, seed: int = 0,
                               n_splits: int = 5) -> dict:
    """Cross-validate σ away from room temperature by paper, as ``mlsse predict --temperature-c`` makes it.

    For each fold of papers, σ(25 °C) and Ea models train on the other papers, and each held-out row's σ at its
    temperature (log10 S/cm) is predicted through Arrhenius (:func:`~mlsse.temperature.log10_sigma_at`). The
    80 % interval is the saved model's: σ(25 °C) and Ea half-widths calibrated per domain class on the other
    folds' residuals of this same CV, the Ea one scaled by ``|1/T − 1/T_ref|/(k_B ln 10)``.

    Parameters
    ----------
    sigma_rows : pandas.DataFrame
        Room-temperature σ rows (:func:`~mlsse.models.targets.sigma_training_rows`).
    ea_rows : pandas.DataFrame
        Ea rows (:func:`~mlsse.models.targets.ea_training_rows`).
    temperature_rows : pandas.DataFrame
        σ rows away from room temperature (:func:`~mlsse.models.targets.sigma_temperature_rows`), with
        ``temperature_C`` in °C.
    features : dict of str to pandas.DataFrame
        ``"sigma"``, ``"ea"`` and ``"temperature"`` → the feature frames of the three row sets.
    params : dict, optional
        Per target (``"log10_sigma"``, ``"ea_eV"``), the models' hyper-parameters.
    seed : int, default 0
        Seed of the folds and the models.
    n_splits : int, default 5
        Number of folds.

    Returns
    -------
    dict
        ``groups``, ``held_out`` and, overall, per domain class (``in_domain``, ``out_of_domain``) and per
        :data:`TEMPERATURE_BANDS_C` band (``bands_C``): ``n``, ``mae``, ``mean_error`` (bias), ``coverage_80``
        and ``mean_half_width``, all in log10 S/cm.
    """
    params = params or {}
    parts = {"sigma": sigma_rows, "ea": ea_rows, "temperature": temperature_rows}
    names = sorted(set(usable_feature_names(features["sigma"])) | set(usable_feature_names(features["ea"])))
    X = {key: features[key].reindex(columns=names).to_numpy(dtype=float) for key in parts}
    y = {key: rows["target"].to_numpy(dtype=float) for key, rows in parts.items()}
    groups = {key: rows["group"].to_numpy() for key, rows in parts.items()}
    elements = {key: [composition_elements(c) for c in rows["composition"]] for key, rows in parts.items()}
    every_group = np.concatenate(list(groups.values()))
    prediction = {key: np.full(len(rows), np.nan) for key, rows in parts.items()}
    ea_at_temperature = np.full(len(temperature_rows), np.nan)
    in_domain = {key: np.zeros(len(rows), dtype=bool) for key, rows in parts.items()}
    fold = {key: np.full(len(rows), -1) for key, rows in parts.items()}
    for k, (_, test) in enumerate(grouped_folds(len(every_group), every_group, n_splits, seed)):
        held_out = {key: np.isin(groups[key], every_group[test]) for key in parts}
        sigma_model = model_for("log10_sigma", names, params.get("log10_sigma"), seed=seed).fit(
            X["sigma"][~held_out["sigma"]], y["sigma"][~held_out["sigma"]])
        ea_model = model_for("ea_eV", names, params.get("ea_eV"), seed=seed).fit(
            X["ea"][~held_out["ea"]], y["ea"][~held_out["ea"]])
        columns = [names.index(n) for n in domain_feature_names(sigma_model, names)]
        domain = ApplicabilityDomain().fit(
            np.vstack([X[key][~held_out[key]][:, columns] for key in ("sigma", "ea")]),
            [e for key in ("sigma", "ea") for e, out in zip(elements[key], held_out[key]) if not out])
        for key in parts:
            test_rows = held_out[key]
            if not test_rows.any():
                continue
            fold[key][test_rows] = k
            model = ea_model if key == "ea" else sigma_model
            prediction[key][test_rows] = model.predict(X[key][test_rows])
            if key == "temperature":
                ea_at_temperature[test_rows] = ea_model.predict(X[key][test_rows])
            in_domain[key][test_rows] = domain.assess(
                X[key][test_rows][:, columns], [e for e, out in zip(elements[key], test_rows) if out])[0]
    temperature = temperature_rows["temperature_C"].to_numpy(dtype=float)
    predicted = log10_sigma_at(prediction["temperature"], ea_at_temperature, temperature)
    half_width = np.full(len(temperature), np.nan)
    for k in np.unique(fold["temperature"]):
        widths = {key: domain_half_widths((y[key] - prediction[key])[(fold[key] != k) & (fold[key] >= 0)],
                                          in_domain[key][(fold[key] != k) & (fold[key] >= 0)])
                  for key in ("sigma", "ea")}
        here = fold["temperature"] == k
        flags = in_domain["temperature"][here]
        sigma_width, ea_width = (np.where(flags, widths[key]["in_domain"], widths[key]["out_of_domain"])
                                 for key in ("sigma", "ea"))
        half_width[here] = sigma_width + temperature_half_width_extra(ea_width, temperature[here])
    error = predicted - y["temperature"]
    hits = np.abs(error) <= half_width

    def summary(mask) -> dict:
        return {"n": int(mask.sum()), "mae": float(np.mean(np.abs(error[mask]))) if mask.any() else None,
                "mean_error": float(np.mean(error[mask])) if mask.any() else None,
                "coverage_80": float(hits[mask].mean()) if mask.any() else None,
                "mean_half_width": float(np.mean(half_width[mask])) if mask.any() else None}

    inside = in_domain["temperature"]
    return {"groups": int(len(np.unique(groups["temperature"]))), "held_out": "papers", **summary(hits | ~hits),
            "in_domain": summary(inside), "out_of_domain": summary(~inside),
            "bands_C": {_band_label(lo, hi): summary((temperature > lo) & (temperature <= hi))
                        for lo, hi in TEMPERATURE_BANDS_C}}


def evaluate(table: pd.DataFrame, obelix: pd.DataFrame, out_dir: str | Path, params: dict | None = None,
             seed: int = 0, repeats: int = 1, progress=None) -> dict:
    """Evaluate the models by paper-grouped CV against the baselines; write metrics and parity plots.

    The runs: the OBELiX training split (σ) alone and with the full table as training pool, and the full table
    (σ and Ea), each holding out papers and, separately, papers plus their compositions
    (:func:`cross_validate`); and σ away from room temperature (:func:`temperature_cross_validate`). The report
    and plots are those of the folds drawn with ``seed``.

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
        The metrics keyed ``"<run>/<held out>"`` (:func:`cross_validate`'s reports),
        and ``full_log10_sigma_at_temperature/papers`` (:func:`temperature_cross_validate`).
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
                    run = cross_validate(rows, features[id(rows)], params.get(target), target=target, seed=fold_seed,
                                            pool=pool, pool_features=features[id(pool)],
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


def compare_on_same_folds(table: pd.DataFrame, batch_id: str, old_params: dict, new_params: dict,
                          seed: int = 0, n_splits: int = 5, progress=None,
                          features: pd.DataFrame | None = None) -> dict:
    """Compare the previous and the new model by grouped CV on the same folds of the new table.

    Parameters
    ----------
    table : pandas.DataFrame
        The new training table, with a ``batch`` column.
    batch_id : str
        The new batch; the old model's folds train without its rows.
    old_params, new_params : dict
        Per target, the old and the new model's hyper-parameters.
    seed : int, default 0
        Seed of the folds and the models.
    n_splits : int, default 5
        Number of folds.
    progress : mlsse.progress.Progress, optional
        Receives one step per fold.
    features : pandas.DataFrame, optional
        ``table``'s feature table row for row (:func:`~mlsse.models.fitting.feature_matrix`), when already
        computed; default: featurized here.

    Returns
    -------
    dict
        Per target (``log10_sigma``, ``ea_eV``), ``{"old": metrics, "new": metrics}``
        (:func:`~mlsse.models.metrics.regression_metrics`, log10 S/cm or eV).
    """
    report = {}
    for target, part in target_rows(table, features).items():
        numeric = part.features.select_dtypes(include=[np.number, bool])
        X, y = numeric.to_numpy(dtype=float), part.y
        names = list(numeric.columns)
        is_new = part.rows["batch"].eq(batch_id).to_numpy()
        predictions = {"old": np.full(len(y), np.nan), "new": np.full(len(y), np.nan)}
        folds = grouped_folds(len(y), part.groups, n_splits, seed)
        for train, test in (progress or SILENT).track(folds, f"comparing previous and new {target} model"):
            for which, params, train_rows in (("old", old_params, train[~is_new[train]]), ("new", new_params, train)):
                model = model_for(target, names, params.get(target), seed=seed)
                predictions[which][test] = model.fit(X[train_rows], y[train_rows]).predict(X[test])
        report[target] = {which: regression_metrics(y, p) for which, p in predictions.items()}
    return report


#: The ways each evaluation run holds rows out: papers; papers and their compositions (a new material); and, for
#: σ, composition families (a new family, :func:`composition_families`).
HELD_OUT = {"obelix_log10_sigma": ("papers", "papers+compositions"),
            "obelix_log10_sigma_full_training": ("papers", "papers+compositions", "families"),
            "full_log10_sigma": ("papers", "papers+compositions", "families"),
            "full_ea_eV": ("papers", "papers+compositions")}
#: The query columns that carry a structure: left blank for the composition-only view of the OBELiX rows.
STRUCTURE_INPUT_COLUMNS = ("space_group", "space_group_number", "a", "b", "c", "alpha", "beta", "gamma", "cif")


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
    """The within-series scores of one cross-validation run's held-out predictions (:func:`series_report`).

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
