"""Fitting the σ and Ea models: tuning them (Optuna TPE, paper-grouped CV) and training them on a curated table
into a predictor (what each model is made of is in :mod:`mlsse.models.recipe`).

:func:`train_predictor` returns both models as one :class:`~mlsse.models.predictor.Predictor`, in stages:
:func:`fit_target_models`, :func:`fit_domain_and_widths`, :func:`fit_paired_widths`, :func:`measured_evidence`
and :func:`model_metadata`.
"""

from __future__ import annotations

import importlib.metadata
import logging

import numpy as np
import pandas as pd

from mlsse.features import FEATURIZER_VERSION
from mlsse.models.conformal import domain_half_widths, grouped_interval_hits
from mlsse.models.domain import (
    ApplicabilityDomain,
    composition_elements,
    domain_feature_names,
    out_of_fold_in_domain,
)
from mlsse.models.estimator import ConformalBoostedRegressor
from mlsse.models.evidence import MeasuredCompositions, evidence_key, measured_half_width
from mlsse.models.metrics import regression_metrics
from mlsse.models.predictor import Predictor
from mlsse.models.ranking import RANKING_WEIGHT, SeriesRanker, member_features, out_of_fold_ranking_scores
from mlsse.models.recipe import (
    TargetRows,
    ea_feature_names,
    model_structure,
    target_rows,
    usable_feature_names,
    with_predicted_log10_sigma,
)
from mlsse.models.series import doping_series, member_values, paired_half_widths
from mlsse.models.splits import fold_of_each_group, grouped_folds
from mlsse.models.storage import library_versions
from mlsse.models.tuning import DEFAULT_PARAMS, default_params, study_name, tune
from mlsse.progress import SILENT

log = logging.getLogger(__name__)


def train_predictor(table: pd.DataFrame, *, seed: int = 0, trials: int = 0, storage: str | None = None,
                    name: str = "model", data_sha256: str = "", n_splits: int = 5, progress=None,
                    tune_targets=("log10_sigma", "ea_eV"), start_params: dict | None = None,
                    base_params: dict | None = None, ranking: bool = True,
                    features: pd.DataFrame | None = None) -> Predictor:
    """Train σ and Ea models on the curated ``table`` into a :class:`~mlsse.models.predictor.Predictor`.

    Each target starts from :func:`default_params` updated with ``start_params[target]``: that is the first of
    the ``trials`` Optuna trials for the targets in ``tune_targets``, and the parameters used as they are for the
    others. The applicability domain is fitted on the σ and Ea rows together, and the interval half-widths are
    calibrated per domain class on the grouped out-of-fold residuals. The stages: :func:`fit_target_models`,
    :func:`fit_domain_and_widths`, :func:`fit_paired_widths`, :func:`measured_evidence`, :func:`model_metadata`.

    Parameters
    ----------
    table : pandas.DataFrame
        The curated table.
    seed : int, default 0
        Seed of the folds, the tuning and the models.
    trials : int, default 0
        Optuna trials per tuned target.
    storage : str, optional
        Optuna storage URL; None: in memory.
    name : str, default "model"
        The model's name (in its metadata and its study names).
    data_sha256 : str, optional
        SHA-256 of ``table`` (the data version), recorded in the metadata.
    n_splits : int, default 5
        Folds of the grouped CV.
    progress : mlsse.progress.Progress, optional
        Receives stage messages and task steps; default: none.
    tune_targets : sequence of str, default ("log10_sigma", "ea_eV")
        The targets tuned with ``trials``.
    start_params : dict, optional
        Per target, hyper-parameters to start from (e.g. the active model's ``metadata["params"]``, so a retrain
        keeps its tuned hyper-parameters); the objective stays the target's.
    base_params : dict, optional
        One dict for both targets that overrides the hyper-parameters of untuned targets, e.g. fewer trees for a
        quick test model.
    ranking : bool, default True
        Fit the ranking member (:func:`fit_ranking_member`) when the σ rows hold two doping series or more;
        the paired intervals are calibrated either way.
    features : pandas.DataFrame, optional
        ``table``'s feature table row for row (:func:`feature_matrix`), when already computed; default:
        featurized here.

    Returns
    -------
    Predictor
        The trained predictor; ``metadata["metrics"]`` holds each target's grouped-CV metrics (log10 S/cm or
        eV), interval coverage and per-domain-class figures.

    Raises
    ------
    DataError
        If a composition cannot be featurized.
    """
    progress = progress or SILENT
    parts = target_rows(table, features, progress)
    sigma, ea = parts["log10_sigma"], parts["ea_eV"]
    names = sorted(set(usable_feature_names(sigma.features)) | set(usable_feature_names(ea.features)))
    fitted, metrics = fit_target_models(parts, names, seed=seed, trials=trials, tune_targets=tune_targets,
                                        storage=storage, name=name, data_sha256=data_sha256, n_splits=n_splits,
                                        start_params=start_params, base_params=base_params, progress=progress)
    domain, domain_features, half_widths = fit_domain_and_widths(parts, fitted, names, metrics, n_splits=n_splits,
                                                                 seed=seed, progress=progress)
    metadata = model_metadata(name, fitted, metrics, seed=seed, trials=trials, tune_targets=tune_targets,
                              data_sha256=data_sha256, n_sigma_rows=len(sigma.rows), n_ea_rows=len(ea.rows))
    ranker, ranking_weight, paired = fit_paired_widths(sigma, ea, fitted, names, n_splits=n_splits, seed=seed,
                                                       ranking=ranking)
    if ranker is not None:
        metadata["ranking_weight"] = ranking_weight
    metadata["paired_half_widths"] = paired
    measured, width = measured_evidence(sigma.rows, fitted["log10_sigma"].coverage)
    if width is not None:
        half_widths["log10_sigma"]["measured"] = width
    return Predictor(sigma_model=fitted["log10_sigma"], ea_model=fitted["ea_eV"], feature_names=names,
                     domain=domain, domain_features=domain_features, metadata=metadata, half_widths=half_widths,
                     measured=measured, ranker=ranker, ea_reads_predicted_log10_sigma=True)


def fit_target_models(parts: dict[str, TargetRows], names: list[str], *, seed: int = 0, trials: int = 0,
                      tune_targets=("log10_sigma", "ea_eV"), storage: str | None = None, name: str = "model",
                      data_sha256: str = "", n_splits: int = 5, start_params: dict | None = None,
                      base_params: dict | None = None, progress=None) -> tuple[dict, dict]:
    """Tune (if asked) and fit each target's model, its interval calibrated on grouped out-of-fold residuals.

    Parameters
    ----------
    parts : dict of str to TargetRows
        The targets' rows (:func:`target_rows`).
    names : list of str
        The feature columns the models read, in order.
    seed, trials, tune_targets, storage, name, data_sha256, n_splits, start_params, base_params
        As :func:`train_predictor`'s.
    progress : mlsse.progress.Progress, optional
        Receives stage messages and task steps.

    Returns
    -------
    fitted : dict of str to ConformalBoostedRegressor
        Per target, the fitted model (with ``oof_prediction_``).
    metrics : dict
        Per target, the grouped-CV :func:`~mlsse.models.metrics.regression_metrics` (log10 S/cm or eV) with
        ``groups`` and ``median_baseline_mae``.
    """
    progress = progress or SILENT
    fitted, metrics = {}, {}
    for target in ("log10_sigma", "ea_eV"):  # σ first: the Ea model reads the σ model's prediction
        part = parts[target]
        X = part.features.reindex(columns=names).to_numpy(dtype=float)
        X_plain, X_held_out, input_names = X, X, names
        y, groups = part.y, part.groups
        n_trials = trials if target in tune_targets else 0
        progress.message(f"{target}: {len(y)} rows from {len(np.unique(groups))} papers, {n_trials} tuning trials")
        if target == "ea_eV":
            X, X_held_out = ea_inputs(X, groups, fitted["log10_sigma"])
            vars(fitted["log10_sigma"]).pop("fold_models_", None)  # needed for the Ea input only; never saved
            input_names = ea_feature_names(names)
        structure = model_structure(input_names, target)
        tuned_structure = model_structure(names, target)
        start = default_params(target)
        start.update({k: v for k, v in ((start_params or {}).get(target) or {}).items()
                      if k in DEFAULT_PARAMS and k != "objective"})
        # Ea is tuned on the features alone: tuned with the σ input it measured the same Ea MAE (0.0887 against
        # 0.0890 eV) and a worse σ away from room temperature (1.219 against 1.186; docs/decisions.md).
        params = tune(X_plain, y, groups, trials=n_trials, seed=seed, storage=storage, n_splits=n_splits,
                      study_name=study_name(name, target, data_sha256, seed, names, tuned_structure["views"], groups,
                                            n_splits, tuned_structure["forest_views"],
                                            tuned_structure["censored_value"]),
                      base_params=start, progress=progress, **tuned_structure)
        if n_trials == 0 and base_params:
            params.update(base_params)
        with progress.task(f"fitting {target} and its {n_splits} calibration folds"):
            model = ConformalBoostedRegressor(**params, **structure, random_state=seed,
                                              n_splits=n_splits).fit(X, y, groups, X_held_out=X_held_out,
                                                                     keep_fold_models=target == "log10_sigma")
        fitted[target] = model
        metrics[target] = regression_metrics(y, model.oof_prediction_)
        metrics[target]["groups"] = int(len(np.unique(groups)))
        metrics[target]["median_baseline_mae"] = median_baseline_mae(y, groups, n_splits, seed)
    return fitted, metrics


def ea_inputs(X: np.ndarray, groups, sigma_model) -> tuple[np.ndarray, np.ndarray]:
    """Return the Ea model's input for its training rows, as it is fitted on and as its calibration folds see it.

    The fitted Ea model learns from the fitted σ model's prediction of each row
    (:data:`~mlsse.models.recipe.PREDICTED_LOG10_SIGMA`). A query from a new paper gets a value from a σ model that
    never saw that paper, so the calibration folds' held-out rows do too: the σ model's own calibration fold that
    held the row's paper out (:meth:`~mlsse.models.estimator.ConformalBoostedRegressor.predict_held_out`).

    Parameters
    ----------
    X : numpy.ndarray
        The Ea rows' features (the σ model's columns).
    groups : array_like
        Each Ea row's paper group.
    sigma_model : ConformalBoostedRegressor
        The fitted σ model, its calibration fold models kept.

    Returns
    -------
    X_fit, X_held_out : numpy.ndarray
        ``X`` with the fitted σ model's log10 σ, and with that of a σ model that did not see the row's paper
        (log10 S/cm, last column).
    """
    return (with_predicted_log10_sigma(X, sigma_model.predict(X)),
            with_predicted_log10_sigma(X, sigma_model.predict_held_out(X, groups)))


def fit_domain_and_widths(parts: dict[str, TargetRows], fitted: dict, names: list[str], metrics: dict, *,
                          n_splits: int = 5, seed: int = 0, progress=None):
    """Fit the applicability domain on the σ and Ea rows together, and each target's half-widths per domain class.

    Each row's domain flag is the one it gets when its paper is held out, on the folds the model calibrated its
    interval on; the half-widths are the conformal quantiles of the out-of-fold residuals of each class.

    Parameters
    ----------
    parts : dict of str to TargetRows
        The σ then the Ea rows (:func:`target_rows`).
    fitted : dict of str to ConformalBoostedRegressor
        The fitted models (:func:`fit_target_models`).
    names : list of str
        Their feature columns, in order.
    metrics : dict
        Per target, the metrics; each gets its interval coverage and MAE overall and per domain class (in place).
    n_splits, seed : int
        The models' calibration folds.
    progress : mlsse.progress.Progress, optional
        Receives one message per target.

    Returns
    -------
    domain : ApplicabilityDomain
        Fitted on :func:`domain_feature_names`.
    domain_features : list of str
        Its feature columns.
    half_widths : dict
        Per target, the half-widths (log10 S/cm or eV) per domain class (:func:`~mlsse.models.conformal.domain_half_widths`).
    """
    progress = progress or SILENT
    domain_features = domain_feature_names(fitted["log10_sigma"], names)
    all_rows = pd.concat([p.features for p in parts.values()], ignore_index=True).reindex(columns=domain_features)
    all_rows = all_rows.to_numpy(dtype=float)
    all_elements = [composition_elements(c) for c in pd.concat([p.rows["composition"] for p in parts.values()])]
    all_groups = np.concatenate([p.groups for p in parts.values()])
    domain = ApplicabilityDomain().fit(all_rows, all_elements)
    half_widths, offset = {}, 0
    for target, part in parts.items():
        model, y, groups, end = fitted[target], part.y, part.groups, offset + len(part.rows)
        # The flags each row gets when its paper is held out, on the folds the model calibrated its interval on.
        in_domain = out_of_fold_in_domain(all_rows[offset:end], all_elements[offset:end], groups,
                                          grouped_folds(len(y), groups, n_splits, seed),
                                          all_rows, all_elements, all_groups)
        offset = end
        half_widths[target] = domain_half_widths(y - model.oof_prediction_, in_domain, model.coverage)
        hits = grouped_interval_hits(y, model.oof_prediction_, groups, model.coverage, n_splits, seed, in_domain)
        metrics[target].update({
            "coverage": float(hits.mean()), "coverage_in_domain": float(hits[in_domain].mean()),
            "coverage_out_of_domain": float(hits[~in_domain].mean()) if (~in_domain).any() else None,
            "n_out_of_domain": int((~in_domain).sum()),
            "mae_in_domain": float(np.mean(np.abs(y - model.oof_prediction_)[in_domain])),
            "mae_out_of_domain": (float(np.mean(np.abs(y - model.oof_prediction_)[~in_domain]))
                                  if (~in_domain).any() else None),
        })
        progress.message(f"{target}: grouped-CV MAE {metrics[target]['mae']:.3f} "
            f"(median baseline {metrics[target]['median_baseline_mae']:.3f}), 80% interval coverage "
            f"{metrics[target]['coverage']:.2f} ({int((~in_domain).sum())} rows out of domain held out)")
    return domain, domain_features, half_widths


def fit_paired_widths(sigma: TargetRows, ea: TargetRows, fitted: dict, names: list[str], *, n_splits: int = 5,
                      seed: int = 0, ranking: bool = True):
    """Calibrate the interval of a change versus a host, and fit the ranking member that orders σ changes.

    The interval comes from held-out differences within doping series (a lab's offset cancels in them): σ
    members compared as dope compares them, with the ranking member's held-out say.

    Parameters
    ----------
    sigma, ea : TargetRows
        The σ and the Ea rows (:func:`target_rows`).
    fitted : dict of str to ConformalBoostedRegressor
        The fitted models (:func:`fit_target_models`).
    names : list of str
        Their feature columns, in order.
    n_splits, seed : int
        The models' calibration folds.
    ranking : bool, default True
        Fit the ranking member (:func:`fit_ranking_member`) when the σ rows hold two doping series or more.

    Returns
    -------
    ranker : SeriesRanker or None
        The ranking member, if fitted.
    ranking_weight : float or None
        Its weight (:data:`~mlsse.models.ranking.RANKING_WEIGHT`), if fitted.
    paired_half_widths : dict
        Per target, :func:`~mlsse.models.series.paired_half_widths` (log10 S/cm or eV).
    """
    sigma_series, ea_series = doping_series(sigma.rows), doping_series(ea.rows)
    relative = member_values(sigma_series, fitted["log10_sigma"].oof_prediction_)
    ranker = weight = None
    if ranking and sigma_series["series"].nunique() >= 2:
        ranker, held_out = fit_ranking_member(sigma_series, sigma.features.reindex(columns=names).to_numpy(dtype=float),
                                              sigma.groups, n_splits, seed)
        weight = RANKING_WEIGHT
        relative = relative + RANKING_WEIGHT * held_out
    paired = {
        "log10_sigma": paired_half_widths(sigma_series, relative, fitted["log10_sigma"].coverage),
        "ea_eV": paired_half_widths(ea_series, member_values(ea_series, fitted["ea_eV"].oof_prediction_),
                                    fitted["ea_eV"].coverage)}
    return ranker, weight, paired


def measured_evidence(sigma_rows: pd.DataFrame, coverage: float) -> tuple[MeasuredCompositions, float | None]:
    """Return the measured compositions of the σ rows and the half-width of a prediction anchored to them.

    A known composition is predicted as its measurements: its interval is how far one paper is from the others.

    Parameters
    ----------
    sigma_rows : pandas.DataFrame
        The σ training rows (:func:`~mlsse.models.targets.sigma_training_rows`).
    coverage : float
        The interval's coverage (e.g. 0.8).

    Returns
    -------
    measured : MeasuredCompositions
        Their measurements by composition (and additive).
    half_width : float or None
        :func:`~mlsse.models.evidence.measured_half_width` (log10 S/cm); None when no composition was measured
        by two papers.
    """
    additives = sigma_rows["additive"] if "additive" in sigma_rows else None
    wt = sigma_rows["additive_wt_pct"] if "additive_wt_pct" in sigma_rows else None
    measured = MeasuredCompositions.from_rows(sigma_rows["composition"], sigma_rows["target"],
                                              sigma_rows["censored"], sigma_rows["group"], additives, wt)
    keys = [evidence_key(c, a, w) for c, a, w in zip(sigma_rows["composition"],
                                                     additives if additives is not None else [None] * len(sigma_rows),
                                                     wt if wt is not None else [None] * len(sigma_rows))]
    width = measured_half_width(keys, sigma_rows["group"].to_numpy(), sigma_rows["target"].to_numpy(dtype=float),
                                sigma_rows["censored"].fillna(False).astype(bool).to_numpy(), coverage)
    return measured, width


def model_metadata(name: str, fitted: dict, metrics: dict, *, seed: int, trials: int, tune_targets,
                   data_sha256: str, n_sigma_rows: int, n_ea_rows: int) -> dict:
    """Return a trained predictor's metadata: what trained it, on what, and how well it did.

    Parameters
    ----------
    name : str
        The model's name.
    fitted : dict of str to ConformalBoostedRegressor
        The fitted models; their parameters are recorded.
    metrics : dict
        Per target, the grouped-CV metrics (log10 S/cm or eV), with ``groups``.
    seed, trials, tune_targets, data_sha256
        As :func:`train_predictor`'s.
    n_sigma_rows, n_ea_rows : int
        The σ and the Ea training rows.

    Returns
    -------
    dict
        ``name``, ``mlsse_version``, ``seed``, ``trials``, ``tuned_targets``, ``params``,
        ``featurizer_version``, ``library_versions``, ``data_sha256``, the row and group counts and ``metrics``.
    """
    return {
        "name": name, "mlsse_version": importlib.metadata.version("mlsse"), "seed": seed, "trials": trials,
        "tuned_targets": list(tune_targets), "params": {t: m.get_params() for t, m in fitted.items()},
        "featurizer_version": FEATURIZER_VERSION, "library_versions": library_versions(),
        "data_sha256": data_sha256, "n_sigma_rows": int(n_sigma_rows), "n_ea_rows": int(n_ea_rows),
        "n_sigma_groups": metrics["log10_sigma"]["groups"], "n_ea_groups": metrics["ea_eV"]["groups"],
        "metrics": metrics,
    }


def fit_ranking_member(series: pd.DataFrame, X: np.ndarray, groups, n_splits: int = 5, seed: int = 0):
    """Fit the ranking member on the doping series of the σ rows, and score each member held out.

    The member (:class:`~mlsse.models.ranking.SeriesRanker`) is fit on every series. Its out-of-fold scores come
    from rankers fit on the other folds of the σ model's calibration folds (no member scored by a ranker that saw
    its paper); weighted by :data:`~mlsse.models.ranking.RANKING_WEIGHT` and added to the σ model's out-of-fold
    predictions, they give the held-out differences between members that calibrate the paired interval.

    Parameters
    ----------
    series : pandas.DataFrame
        The doping series of the σ rows (:func:`~mlsse.models.series.doping_series`), at least two.
    X : numpy.ndarray
        The σ rows' features, in the model's columns.
    groups : array_like
        The σ rows' groups (papers).
    n_splits, seed : int
        The σ model's calibration folds.

    Returns
    -------
    ranker : SeriesRanker
        Fit on every series.
    held_out : numpy.ndarray
        Each member's out-of-fold score (no unit).
    """
    groups = np.asarray(groups)
    fold_of_group = fold_of_each_group(groups, grouped_folds(len(groups), groups, n_splits, seed))
    held_out = out_of_fold_ranking_scores(X, series, fold_of_group, seed)
    ranker = SeriesRanker(random_state=seed).fit(member_features(X, series), series["measured"].to_numpy(),
                                                 series["series"].to_numpy())
    return ranker, held_out


def median_baseline_mae(y, groups, n_splits=5, seed=0) -> float:
    """Return the grouped-CV MAE of predicting the training folds' median (the same folds as the models).

    Parameters
    ----------
    y : array_like
        Targets.
    groups : array_like
        Each row's paper group.
    n_splits : int, default 5
        Number of folds.
    seed : int, default 0
        Seed of the folds.

    Returns
    -------
    float
        The MAE, in the targets' units.
    """
    y = np.asarray(y, dtype=float)
    errors = []
    for train, test in grouped_folds(len(y), groups, n_splits, seed):
        errors.append(np.abs(y[test] - np.median(y[train])))
    return float(np.mean(np.concatenate(errors)))


__all__ = ["train_predictor", "fit_target_models", "fit_domain_and_widths", "fit_paired_widths", "measured_evidence",
           "model_metadata", "fit_ranking_member", "median_baseline_mae"]
