"""Hyper-parameters: the defaults per target, the Optuna search space and the tuning run (TPE on paper-grouped
CV, studies named by their whole setup)."""

from __future__ import annotations

import numpy as np

from mlsse.features import FEATURIZER_VERSION
from mlsse.models.estimator import CENSOR_CLASSIFIER_PARAMS, FOREST_PARAMS, ConformalBoostedRegressor
from mlsse.models.splits import out_of_fold_predictions
from mlsse.progress import SILENT

#: Default hyper-parameters when no tuning trials are run.
DEFAULT_PARAMS = {"n_estimators": 400, "max_depth": 5, "learning_rate": 0.05, "subsample": 0.8,
                  "colsample_bytree": 0.6, "min_child_weight": 2.0, "reg_lambda": 1.0, "reg_alpha": 0.001,
                  "objective": "reg:absoluteerror"}


#: Per-target changes to ``DEFAULT_PARAMS``; the objective is fixed per target, not tuned. For log10 σ the regressors
#: see only measured rows (censored ones go to a classifier, see ``model_structure``) and fit squared error; for Ea
#: they keep absolute error (the median), which the heavy-tailed errors of literature Ea labels move less.
TARGET_DEFAULTS = {"log10_sigma": {"objective": "reg:squarederror"}, "ea_eV": {}}


def default_params(target: str) -> dict:
    """Return the untuned hyper-parameters of a target's model.

    Parameters
    ----------
    target : str
        ``"log10_sigma"`` or ``"ea_eV"``.

    Returns
    -------
    dict
        :data:`DEFAULT_PARAMS` updated with the target's :data:`TARGET_DEFAULTS`.
    """
    return {**DEFAULT_PARAMS, **TARGET_DEFAULTS[target]}


def suggest_params(trial) -> dict:
    """Return one Optuna trial's hyper-parameters: the search space for both targets.

    The objective is not searched; it is fixed per target (:data:`TARGET_DEFAULTS`).

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial that suggests the values.

    Returns
    -------
    dict
        XGBoost hyper-parameters for :class:`~mlsse.models.estimator.ConformalBoostedRegressor`.
    """
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 800, step=50),
        "max_depth": trial.suggest_int("max_depth", 2, 8),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.2, 1.0),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
    }


def tune(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, trials: int, seed: int, study_name: str,
         storage: str | None = None, n_splits: int = 5, base_params: dict | None = None,
         views: list[list[int]] | None = None, forest_views: list[list[int]] | None = None,
         censored_value: float | None = None, progress=None) -> dict:
    """Tune XGBoost hyper-parameters by minimising paper-grouped CV MAE with Optuna's TPE sampler.

    The forests' and the censor classifier's own settings are fixed (``FOREST_PARAMS``,
    ``CENSOR_CLASSIFIER_PARAMS``) but they are refitted in every trial, so the boosters are tuned for what the
    model predicts.

    Parameters
    ----------
    X : numpy.ndarray, shape (n_rows, n_features)
        Features.
    y : numpy.ndarray, shape (n_rows,)
        Targets (log10 S/cm or eV).
    groups : numpy.ndarray, shape (n_rows,)
        Each row's paper group, for the CV folds.
    trials : int
        Number of finished trials the study should have; ≤ 0 returns ``base_params`` untuned.
    seed : int
        Seed of the sampler, the folds and the models.
    study_name : str
        The study's name (:func:`study_name`); an existing study of that name is continued.
    storage : str, optional
        Optuna storage URL (``sqlite:///path.db``) so a run can be resumed and inspected with optuna-dashboard;
        None: in memory.
    n_splits : int, default 5
        Folds of the grouped CV.
    base_params : dict, optional
        The first trial; default :data:`DEFAULT_PARAMS`.
    views, forest_views, censored_value
        Passed to the estimator unchanged.
    progress : mlsse.progress.Progress, optional
        Receives one step per trial.

    Returns
    -------
    dict
        ``base_params`` updated with the best trial's searched hyper-parameters.
    """
    base = dict(base_params or DEFAULT_PARAMS)
    if trials <= 0:
        return base
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        estimator = ConformalBoostedRegressor(**{**base, **suggest_params(trial)}, views=views,
                                              forest_views=forest_views, censored_value=censored_value,
                                              calibrate=False, random_state=seed)
        prediction = out_of_fold_predictions(estimator, X, y, groups, n_splits, seed)
        return float(np.mean(np.abs(prediction - y)))

    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed), load_if_exists=True)
    study.enqueue_trial({k: v for k, v in base.items() if k != "objective"}, skip_if_exists=True)
    remaining = trials - len([t for t in study.trials if t.state.is_finished()])
    if remaining > 0:
        with (progress or SILENT).task("tuning: Optuna trials", total=remaining) as advance:
            study.optimize(objective, n_trials=remaining, callbacks=[lambda study, trial: advance(1)])
    # Only the searched hyper-parameters: a study from an older mlsse may hold others (e.g. the objective).
    base.update({k: v for k, v in study.best_params.items() if k in DEFAULT_PARAMS and k != "objective"})
    return base


def study_name(name: str, target: str, data_sha256: str, seed: int, feature_names: list[str], views, groups,
               n_splits: int, forest_views=None, censored_value=None) -> str:
    """Return the Optuna study name of one tuning run.

    A resumed study must have scored its trials on the same data, features, views, objective and folds, so all
    of them are in the name (the last ones as a hash).

    Parameters
    ----------
    name : str
        The model's name.
    target : str
        ``"log10_sigma"`` or ``"ea_eV"``.
    data_sha256 : str
        The training table's SHA-256.
    seed : int
        The tuning seed.
    feature_names : list of str
        The feature columns.
    views, forest_views, censored_value
        The model's structure (:func:`~mlsse.models.recipe.model_structure`).
    groups : array_like
        Each row's paper group.
    n_splits : int
        Folds of the grouped CV.

    Returns
    -------
    str
        ``<name>-<target>-<data hash>-seed<seed>-<setup hash>``.
    """
    import hashlib
    import json

    setup = [FEATURIZER_VERSION, feature_names, views, default_params(target)["objective"], n_splits,
             np.asarray(groups).astype(str).tolist()]
    if forest_views:  # appended only when present, so names of studies without forests stay as they were
        setup += [forest_views, FOREST_PARAMS]
    if censored_value is not None:
        setup += [censored_value, CENSOR_CLASSIFIER_PARAMS]
    setup = json.dumps(setup)
    return f"{name}-{target}-{data_sha256[:12]}-seed{seed}-{hashlib.sha256(setup.encode()).hexdigest()[:8]}"
