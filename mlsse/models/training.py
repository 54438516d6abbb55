"""Tuning (Optuna TPE, paper-grouped CV) and training of the σ and Ea models into a :class:`Predictor`."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.models.estimator import ConformalBoostedRegressor, grouped_folds, out_of_fold_predictions
from mlsse.models.metrics import grouped_interval_coverage, regression_metrics
from mlsse.models.training_data import ea_training_rows, sigma_training_rows

log = logging.getLogger(__name__)

#: Features the applicability domain measures distance on (the σ model's most important composition ones).
N_DOMAIN_FEATURES = 20
#: Default hyper-parameters when no tuning trials are run.
DEFAULT_PARAMS = {"n_estimators": 400, "max_depth": 5, "learning_rate": 0.05, "subsample": 0.8,
                  "colsample_bytree": 0.6, "min_child_weight": 2.0, "reg_lambda": 1.0, "reg_alpha": 0.001,
                  "objective": "reg:absoluteerror"}


def suggest_params(trial) -> dict:
    """The Optuna search space for both targets."""
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 800, step=50),
        "max_depth": trial.suggest_int("max_depth", 2, 8),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.2, 1.0),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
        "objective": trial.suggest_categorical("objective", ["reg:absoluteerror", "reg:squarederror"]),
    }


def tune(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, trials: int, seed: int, study_name: str,
         storage: str | None = None, n_splits: int = 5) -> dict:
    """Tune XGBoost hyper-parameters by minimising paper-grouped CV MAE with Optuna's TPE sampler.

    ``storage`` is an Optuna storage URL (``sqlite:///path.db``) so a run can be resumed and inspected with
    optuna-dashboard; the study named ``study_name`` is continued if it exists. Returns the best parameters
    (``DEFAULT_PARAMS`` when ``trials`` is 0).
    """
    if trials <= 0:
        return dict(DEFAULT_PARAMS)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = grouped_folds(len(y), groups, n_splits, seed)

    def objective(trial):
        estimator = ConformalBoostedRegressor(**suggest_params(trial), random_state=seed)
        booster = estimator._booster()
        errors = []
        for train, test in folds:
            booster.fit(X[train], y[train])
            errors.append(np.abs(booster.predict(X[test]) - y[test]))
        return float(np.mean(np.concatenate(errors)))

    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed), load_if_exists=True)
    study.enqueue_trial(DEFAULT_PARAMS, skip_if_exists=True)
    remaining = trials - len([t for t in study.trials if t.state.is_finished()])
    if remaining > 0:
        study.optimize(objective, n_trials=remaining)
    params = dict(DEFAULT_PARAMS)
    params.update(study.best_params)
    return params


def feature_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """Featurize curated rows (composition, structure, process columns) in the table's order."""
    from mlsse.features import featurize_table

    return featurize_table(table).reset_index(drop=True)


def usable_feature_names(features: pd.DataFrame) -> list[str]:
    """Columns that carry information: numeric, not all NaN, not constant."""
    numeric = features.select_dtypes(include=[np.number, bool])
    keep = [c for c in numeric.columns if numeric[c].notna().any() and numeric[c].nunique(dropna=True) > 1]
    return keep


def train_predictor(table: pd.DataFrame, *, seed: int = 0, trials: int = 0, storage: str | None = None,
                    name: str = "model", data_sha256: str = "", n_splits: int = 5, progress=None,
                    tune_targets=("log10_sigma", "ea_eV"), base_params: dict | None = None):
    """Train σ and Ea models on the curated ``table`` and return a :class:`~mlsse.models.predictor.Predictor`
    with its grouped-CV metrics in ``metadata['metrics']``.

    ``trials`` Optuna trials tune each target in ``tune_targets``; the others use ``DEFAULT_PARAMS`` updated
    with ``base_params`` (e.g. fewer trees for a quick test model).
    ``progress``: optional callable taking a message, for the CLI.
    """
    from mlsse.features import FEATURIZER_VERSION
    from mlsse.models.domain import ApplicabilityDomain
    from mlsse.models.predictor import Predictor
    from mlsse.models.versions import library_versions

    say = progress or (lambda message: None)
    sigma_rows, ea_rows = sigma_training_rows(table), ea_training_rows(table)
    say(f"featurizing {len(sigma_rows)} σ rows and {len(ea_rows)} Ea rows")
    sigma_features, ea_features = feature_matrix(sigma_rows), feature_matrix(ea_rows)
    names = sorted(set(usable_feature_names(sigma_features)) | set(usable_feature_names(ea_features)))
    fitted, metrics = {}, {}
    for target, rows, features in (("log10_sigma", sigma_rows, sigma_features), ("ea_eV", ea_rows, ea_features)):
        X = features.reindex(columns=names).to_numpy(dtype=float)
        y, groups = rows["target"].to_numpy(dtype=float), rows["group"].to_numpy()
        n_trials = trials if target in tune_targets else 0
        say(f"{target}: {len(y)} rows from {len(np.unique(groups))} papers, {n_trials} tuning trials")
        params = tune(X, y, groups, trials=n_trials, seed=seed, storage=storage, n_splits=n_splits,
                      study_name=f"{name}-{target}-{data_sha256[:12]}-seed{seed}")
        if n_trials == 0 and base_params:
            params.update(base_params)
        model = ConformalBoostedRegressor(**params, random_state=seed, n_splits=n_splits).fit(X, y, groups)
        fitted[target] = model
        metrics[target] = regression_metrics(y, model.oof_prediction_)
        metrics[target]["coverage"] = grouped_interval_coverage(y, model.oof_prediction_, groups, 0.8, n_splits,
                                                                seed)
        metrics[target]["groups"] = int(len(np.unique(groups)))
        metrics[target]["median_baseline_mae"] = median_baseline_mae(y, groups, n_splits, seed)
        say(f"{target}: grouped-CV MAE {metrics[target]['mae']:.3f} "
            f"(median baseline {metrics[target]['median_baseline_mae']:.3f}), "
            f"80% interval coverage {metrics[target]['coverage']:.2f}")
    from mlsse.features import featurize_compositions

    importance = fitted["log10_sigma"].model_.feature_importances_
    composition_columns = set(featurize_compositions(["Li3N"]).columns)
    ranked = [names[i] for i in np.argsort(-importance, kind="stable") if names[i] in composition_columns]
    domain_features = ranked[:N_DOMAIN_FEATURES]
    all_rows = pd.concat([sigma_features, ea_features], ignore_index=True)
    all_compositions = pd.concat([sigma_rows["composition"], ea_rows["composition"]], ignore_index=True)
    domain = ApplicabilityDomain().fit(all_rows.reindex(columns=domain_features).to_numpy(dtype=float),
                                       [composition_elements(c) for c in all_compositions])
    from mlsse import __version__

    metadata = {
        "name": name, "mlsse_version": __version__, "seed": seed, "trials": trials,
        "tuned_targets": list(tune_targets), "params": {t: m.get_params() for t, m in fitted.items()},
        "featurizer_version": FEATURIZER_VERSION, "library_versions": library_versions(),
        "data_sha256": data_sha256, "n_sigma_rows": int(len(sigma_rows)), "n_ea_rows": int(len(ea_rows)),
        "n_sigma_groups": metrics["log10_sigma"]["groups"], "n_ea_groups": metrics["ea_eV"]["groups"],
        "metrics": metrics,
    }
    return Predictor(sigma_model=fitted["log10_sigma"], ea_model=fitted["ea_eV"], feature_names=names,
                     domain=domain, domain_features=domain_features, metadata=metadata)


def median_baseline_mae(y, groups, n_splits=5, seed=0) -> float:
    """Grouped-CV MAE of predicting the training folds' median (same folds as the models)."""
    y = np.asarray(y, dtype=float)
    errors = []
    for train, test in grouped_folds(len(y), groups, n_splits, seed):
        errors.append(np.abs(y[test] - np.median(y[train])))
    return float(np.mean(np.concatenate(errors)))


def composition_elements(formula: str) -> set[str]:
    """Return the element symbols of a formula."""
    from mlsse.data.schema import parse_composition

    return {el.symbol for el in parse_composition(formula).elements}


__all__ = ["train_predictor", "tune", "feature_matrix", "out_of_fold_predictions", "DEFAULT_PARAMS"]
