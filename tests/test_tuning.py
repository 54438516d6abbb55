"""Optuna tuning: grouped CV objective, SQLite storage that resumes, and (slow) the full training run."""

from __future__ import annotations

import numpy as np
import pytest

from mlsse.models.tuning import DEFAULT_PARAMS, tune


def _data(seed=0, n=240):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X[:, 0] * 2 + rng.normal(scale=0.3, size=n), np.repeat(np.arange(n // 8), 8)


def test_tuning_study_is_stored_and_resumed(tmp_path):
    import optuna

    X, y, groups = _data()
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    params = tune(X, y, groups, trials=2, seed=0, study_name="t", storage=storage, n_splits=3)
    assert set(params) == set(DEFAULT_PARAMS)
    study = optuna.load_study(study_name="t", storage=storage)
    assert len(study.trials) == 2 and study.trials[0].params["max_depth"] == DEFAULT_PARAMS["max_depth"]
    tune(X, y, groups, trials=3, seed=0, study_name="t", storage=storage, n_splits=3)
    assert len(optuna.load_study(study_name="t", storage=storage).trials) == 3


def test_tuning_is_deterministic_for_a_seed():
    X, y, groups = _data(1)
    first = tune(X, y, groups, trials=2, seed=7, study_name="a", n_splits=3)
    assert first == tune(X, y, groups, trials=2, seed=7, study_name="b", n_splits=3)


def test_a_resumed_old_study_cannot_change_the_objective(tmp_path):
    import optuna

    X, y, groups = _data(3)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    # A study left by an mlsse that still tuned the objective.
    def old_objective(trial):
        trial.suggest_categorical("objective", ["reg:absoluteerror"])
        return trial.suggest_int("max_depth", 2, 8)

    old = optuna.create_study(study_name="old", storage=storage)
    old.enqueue_trial({"objective": "reg:absoluteerror", "max_depth": 3})
    old.optimize(old_objective, n_trials=1)
    params = tune(X, y, groups, trials=1, seed=0, study_name="old", storage=storage, n_splits=3,
                  base_params={**DEFAULT_PARAMS, "objective": "reg:squarederror"})
    assert params["objective"] == "reg:squarederror" and params["max_depth"] == 3


def test_study_names_differ_when_the_folds_views_or_censored_part_differ():
    from mlsse.models.tuning import study_name

    base = dict(name="m", target="log10_sigma", data_sha256="ab" * 32, seed=0, feature_names=["x", "y"],
                views=[[0], [1]], groups=[1, 1, 2], n_splits=5)
    names = {study_name(**base), study_name(**{**base, "views": [[0, 1]]}),
             study_name(**{**base, "groups": [1, 2, 2]}), study_name(**{**base, "target": "ea_eV"}),
             study_name(**base, censored_value=-15.0)}
    assert len(names) == 5 and study_name(**base) == study_name(**base)


def test_zero_trials_gives_the_defaults():
    X, y, groups = _data(2)
    assert tune(X, y, groups, trials=0, seed=0, study_name="z") == DEFAULT_PARAMS


@pytest.mark.slow
def test_full_training_beats_the_baselines(tmp_path, external_dir):
    from mlsse.models.storage import load_model
    from mlsse.workspace.training import train_and_save

    model = load_model(train_and_save(out=tmp_path / "full", trials=10, seed=0, storage=None))
    metrics = model.metadata["metrics"]
    assert metrics["log10_sigma"]["mae"] < 0.7 * metrics["log10_sigma"]["median_baseline_mae"]
    assert metrics["ea_eV"]["mae"] < metrics["ea_eV"]["median_baseline_mae"]
    assert 0.75 <= metrics["log10_sigma"]["coverage"] <= 0.85
