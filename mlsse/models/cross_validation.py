"""Paper-grouped cross-validation: the models against two baselines on the same folds (:func:`cross_validate`),
the composition families of the leave-family-out split (:func:`composition_families`), and a previous and a new
model compared on the same folds (:func:`compare_on_same_folds`).

Baselines, scored on exactly the same folds:
- ``median``: predict the training folds' median;
- ``rf_elements_lattice``: a random forest on element amounts + space-group number + lattice parameters (the
  style of the OBELiX paper's baseline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlsse.chemistry import composition_key, parse_composition
from mlsse.data.schema import family_name
from mlsse.features.preset import ELEMENT_FRACTION_LABELS
from mlsse.models.conformal import grouped_interval_hits
from mlsse.models.domain import ApplicabilityDomain, composition_elements, domain_feature_names
from mlsse.models.evidence import MeasuredCompositions, anchored_log10_sigma, evidence_key
from mlsse.models.metrics import (
    discovery_metrics,
    probability_metrics,
    regression_metrics,
    repeat_measurement_deviation,
)
from mlsse.models.recipe import (
    ea_feature_names,
    model_for,
    target_rows,
    usable_feature_names,
    with_predicted_log10_sigma,
)
from mlsse.models.splits import fold_of_each_group, grouped_folds
from mlsse.models.targets import DETECTION_LIMIT_LOG10_SIGMA
from mlsse.progress import SILENT

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
                   unseen_families: bool = False, composition_only_features: pd.DataFrame | None = None,
                   sigma_pool: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> CrossValidation:
    """Cross-validate the model and both baselines on the same paper-grouped folds.

    Our model is :func:`~mlsse.models.recipe.model_for` ``target`` with ``params``. Its 80 % interval coverage
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
    sigma_pool : (pandas.DataFrame, pandas.DataFrame), optional
        For Ea, the σ training rows and their feature table: each fold fits a σ model (with ``params``'s
        ``"log10_sigma"`` entry) on those its training side keeps (papers, and compositions with
        ``unseen_compositions``), and its log10 σ is our Ea model's last input, as in the saved model
        (:func:`~mlsse.models.recipe.with_predicted_log10_sigma`). Then ``params`` is per target.

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
    stacked = target == "ea_eV" and sigma_pool is not None
    if stacked and unseen_families:  # the σ input would keep the held-out families: refuse a leaky score
        raise ValueError("sigma_pool with unseen_families is not supported: the σ model would see the families")
    if stacked:
        sigma_rows, sigma_features = sigma_pool
        sigma_names = sorted(set(usable_feature_names(sigma_features)))
        X_sigma = sigma_features.reindex(columns=sigma_names).to_numpy(dtype=float)
        y_sigma, sigma_groups = sigma_rows["target"].to_numpy(dtype=float), sigma_rows["group"].to_numpy()
        sigma_compositions = sigma_rows["composition"].map(composition_key).to_numpy()
        sigma_params, params = (params or {}).get("log10_sigma"), (params or {}).get("ea_eV")
        X_sigma_input = features.reindex(columns=sigma_names).to_numpy(dtype=float)
        X_sigma_pool_input = pool_features.reindex(columns=sigma_names).to_numpy(dtype=float)
    model_names = ea_feature_names(names) if stacked else names
    model = model_for(target, model_names, params, seed=seed)
    for _, test in folds:
        train = ~np.isin(pool_groups, groups[test])
        if unseen_compositions or unseen_families:
            train &= ~np.isin(pool_compositions, compositions[test])
        if unseen_families:
            train &= ~np.isin(pool_families, row_families[test])
        if stacked:
            keep = ~np.isin(sigma_groups, groups[test])
            if unseen_compositions:
                keep &= ~np.isin(sigma_compositions, compositions[test])
            sigma_model = model_for("log10_sigma", sigma_names, sigma_params, seed=seed).fit(
                X_sigma[keep], y_sigma[keep])
            model.fit(with_predicted_log10_sigma(X_pool[train], sigma_model.predict(X_sigma_pool_input[train])),
                      y_pool[train])
            predictions["mlsse"][test] = model.predict(
                with_predicted_log10_sigma(X[test], sigma_model.predict(X_sigma_input[test])))
        else:
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
        elif not stacked:
            predictions["mlsse"][test] = model.predict(X[test])
        # The flag the held-out rows would get from a model trained on this fold's training side.
        columns = [names.index(n) for n in domain_feature_names(model, model_names)]
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


def compare_on_same_folds(table: pd.DataFrame, batch_id: str, old_params: dict, new_params: dict,
                          seed: int = 0, n_splits: int = 5, progress=None,
                          features: pd.DataFrame | None = None) -> dict:
    """Compare the previous and the new model by grouped CV on the same folds of the new table.

    Both sides use this mlsse's recipe (the Ea model reads the fold's σ model's prediction) with their own
    hyper-parameters; the previous side trains without the new batch. Fold k holds out the same papers from σ and Ea.

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
        ``table``'s feature table row for row (:func:`~mlsse.models.recipe.feature_matrix`), when already
        computed; default: featurized here.

    Returns
    -------
    dict
        Per target (``log10_sigma``, ``ea_eV``), ``{"old": metrics, "new": metrics}``
        (:func:`~mlsse.models.metrics.regression_metrics`, log10 S/cm or eV).
    """
    parts = target_rows(table, features)
    # Folds over the papers of both targets: fold k holds out the same papers from σ and Ea, so the σ models of
    # fold k give its Ea models their input (the σ model's log10 σ, as in the saved model) without more fits.
    every_group = np.concatenate([part.groups for part in parts.values()])
    held_out = [np.unique(every_group[test])
                for _, test in grouped_folds(len(every_group), every_group, n_splits, seed)]
    report, sigma_models, sigma_names = {}, {}, None
    for target in ("log10_sigma", "ea_eV"):
        part = parts[target]
        numeric = part.features.select_dtypes(include=[np.number, bool])
        X, y = numeric.to_numpy(dtype=float), part.y
        names = list(numeric.columns)
        if target == "log10_sigma":
            sigma_names = names
        else:
            X_sigma, names = part.features.reindex(columns=sigma_names).to_numpy(dtype=float), ea_feature_names(names)
        is_new = part.rows["batch"].eq(batch_id).to_numpy()
        predictions = {"old": np.full(len(y), np.nan), "new": np.full(len(y), np.nan)}
        for k in (progress or SILENT).track(range(len(held_out)), f"comparing previous and new {target} model"):
            test = np.isin(part.groups, held_out[k])
            if not test.any() and target == "ea_eV":
                continue
            for which, params, train_rows in (("old", old_params, ~test & ~is_new), ("new", new_params, ~test)):
                model = model_for(target, names, params.get(target), seed=seed)
                if target == "log10_sigma":
                    inputs = X
                    sigma_models[k, which] = model.fit(X[train_rows], y[train_rows])
                else:
                    inputs = with_predicted_log10_sigma(X, sigma_models[k, which].predict(X_sigma))
                    model.fit(inputs[train_rows], y[train_rows])
                if test.any():
                    predictions[which][test] = model.predict(inputs[test])
        report[target] = {which: regression_metrics(y, p) for which, p in predictions.items()}
    return report
