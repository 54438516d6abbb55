"""The model layer's parts on synthetic data: estimator contract, conformal intervals, domain, Arrhenius."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlsse.data.references import paper_group_map, reference_keys
from mlsse.models.conformal import conformal_quantile, grouped_interval_coverage
from mlsse.models.domain import ApplicabilityDomain
from mlsse.models.estimator import ConformalBoostedRegressor
from mlsse.models.metrics import regression_metrics
from mlsse.models.splits import grouped_folds
from mlsse.temperature import BOLTZMANN_EV_K, MIN_EA_FOR_TEMPERATURE_EV, log10_sigma_at


@parametrize_with_checks([ConformalBoostedRegressor(n_estimators=20, n_splits=3),
                          ConformalBoostedRegressor(n_estimators=20, n_splits=3, forest_views=[[0]]),
                          # −1 censors some rows of the checks' normal targets, so the classifier path runs too.
                          ConformalBoostedRegressor(n_estimators=20, n_splits=3, censored_value=-1.0)])
def test_estimator_follows_scikit_learn_contract(estimator, check):
    check(estimator)


def _synthetic(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = 2 * X[:, 0] - X[:, 1] + rng.normal(scale=0.5, size=n)
    groups = np.repeat(np.arange(n // 10), 10)
    return X, y, groups


def test_same_seed_gives_identical_predictions():
    X, y, groups = _synthetic()
    a = ConformalBoostedRegressor(n_estimators=50, random_state=3).fit(X, y, groups)
    b = ConformalBoostedRegressor(n_estimators=50, random_state=3).fit(X, y, groups)
    assert np.array_equal(a.predict(X), b.predict(X))
    assert a.interval_half_width_ == b.interval_half_width_


def test_grouped_folds_never_split_a_group():
    groups = np.repeat(np.arange(12), 7)
    for train, test in grouped_folds(len(groups), groups, 5, 0):
        assert not set(groups[train]) & set(groups[test])


def test_conformal_quantile_is_the_finite_sample_rank():
    residuals = np.arange(1, 11, dtype=float)  # n = 10: rank ceil(11 * 0.8) = 9
    assert conformal_quantile(residuals, 0.8) == 9.0
    assert conformal_quantile(-residuals, 0.5) == 6.0


def test_interval_coverage_on_held_out_groups_is_near_nominal():
    X, y, groups = _synthetic(n=600, seed=1)
    model = ConformalBoostedRegressor(n_estimators=80, random_state=0).fit(X, y, groups)
    coverage = grouped_interval_coverage(y, model.oof_prediction_, groups, 0.8)
    assert 0.72 <= coverage <= 0.88
    lo, hi = model.predict_interval(X[:5])
    assert np.allclose(hi - lo, 2 * model.interval_half_width_)


def test_regression_metrics_match_hand_computation():
    m = regression_metrics([0.0, 1.0, 2.0, 3.0], [0.5, 1.0, 2.0, 2.0])
    assert m["mae"] == pytest.approx(0.375)
    assert m["rmse"] == pytest.approx(math.sqrt((0.25 + 1.0) / 4))
    assert m["r2"] == pytest.approx(1 - 1.25 / 5.0)


def test_domain_flags_unknown_elements_and_far_points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    domain = ApplicabilityDomain().fit(X, [{"Li", "O"}] * 200)
    inside, reasons = domain.assess(np.array([[0.0, 0.0, 0.0], [40.0, 40.0, 40.0], [0.0, 0.0, 0.0]]),
                                    [{"Li", "O"}, {"Li", "O"}, {"Li", "Pu"}])
    assert inside.tolist() == [True, False, False]
    assert reasons[1].startswith("far from training data")
    assert reasons[2] == "element(s) Pu absent from training data"
    again = ApplicabilityDomain.from_dict(domain.to_dict())
    assert again.assess(np.zeros((1, 3)), [{"Li"}])[0].tolist() == [True]


def test_intervals_are_calibrated_per_domain_class_on_held_out_papers():
    from mlsse.models.conformal import domain_half_widths, grouped_interval_hits
    from mlsse.models.domain import out_of_fold_in_domain

    # Rows out of domain err five times as much: one interval for all under-covers them, one per class does not.
    rng = np.random.default_rng(3)
    n = 2000
    in_domain = rng.random(n) > 0.15
    residual = rng.normal(size=n) * np.where(in_domain, 1.0, 5.0)
    groups = np.arange(n) % 100
    pooled = grouped_interval_hits(residual, np.zeros(n), groups, 0.8)
    per_class = grouped_interval_hits(residual, np.zeros(n), groups, 0.8, in_domain=in_domain)
    assert pooled[~in_domain].mean() < 0.5
    assert abs(per_class[~in_domain].mean() - 0.8) < 0.06 and abs(per_class[in_domain].mean() - 0.8) < 0.04
    widths = domain_half_widths(residual, in_domain)
    assert widths["out_of_domain"] > 3 * widths["in_domain"]
    # too few out-of-domain residuals: the quantile over all rows; never narrower out of domain than in
    few = np.zeros(n, dtype=bool)
    few[:5] = True
    assert domain_half_widths(residual, ~few)["out_of_domain"] == conformal_quantile(residual, 0.8)
    assert domain_half_widths(np.r_[np.ones(50), np.full(50, 0.1)], np.r_[np.ones(50), np.zeros(50)] > 0) == {
        "in_domain": 1.0, "out_of_domain": 1.0}
    # Out-of-fold flags: an element only one paper has is unknown when that paper is held out.
    X = rng.normal(size=(40, 2))
    elements = [{"Li", "Cl"}] * 38 + [{"Li", "Pu"}] * 2
    paper = np.array([i % 8 for i in range(38)] + [9, 9])
    folds = grouped_folds(40, paper, 5, 0)
    flags = out_of_fold_in_domain(X, elements, paper, folds, X, elements, paper)
    assert not flags[38:].any() and flags[:38].mean() > 0.8


def test_sigma_rises_with_temperature_and_matches_arrhenius():
    temperatures = np.linspace(-50, 600, 60)
    for ea in (0.02, 0.1, 0.3, 0.8):
        values = log10_sigma_at(-3.0, ea, temperatures)
        assert np.all(np.diff(values) > 0), ea
    # independent: σT ratio between 25 °C and 100 °C for Ea = 0.3 eV
    t1, t2 = 298.15, 373.15
    expected = -3.0 + math.log10(t1 / t2) + 0.3 / BOLTZMANN_EV_K * (1 / t1 - 1 / t2) / math.log(10)
    assert log10_sigma_at(-3.0, 0.3, 100.0) == pytest.approx(expected)
    assert log10_sigma_at(-3.0, 0.3, 25.0) == pytest.approx(-3.0)
    assert MIN_EA_FOR_TEMPERATURE_EV > BOLTZMANN_EV_K * (600 + 273.15)


@pytest.mark.parametrize("reference, keys", [
    ("10.1021/ic030208w", ["10.1021/ic030208w"]),
    ("10.1021/ACS.ChemMater.7b05139.s006", ["10.1021/acs.chemmater.7b05139"]),
    ("10.1021/ja305709z; 10.1016/j.ssi.2015.11.027", ["10.1021/ja305709z", "10.1016/j.ssi.2015.11.027"]),
    ("002_2dd81bcf324416bb.txt Table 4 (group 13 section)", ["002_2dd81bcf324416bb.txt"]),
    ("Journal de Physique 26 339-341. 1965", ["journal de physique 26 339-341. 1965"]),
])
def test_reference_keys_name_each_paper_once(reference, keys):
    assert reference_keys(reference) == keys


def test_references_sharing_a_doi_are_one_paper_group():
    groups = paper_group_map([
        "10.1021/ja305709z; 10.1016/j.ssi.2015.11.027",   # two papers cited together ...
        "10.1016/j.ssi.2015.11.027",                      # ... so the second alone joins the first
        "10.1016/j.ssi.2015.11.027; 10.9999/zz",          # and a chain through it too
        "10.1021/acs.chemmater.7b05139.s006",
        "10.1021/ACS.ChemMater.7b05139",
        "002_2dd81bcf324416bb.txt Table 4",
    ])
    assert len({groups[r] for r in ("10.1021/ja305709z; 10.1016/j.ssi.2015.11.027", "10.1016/j.ssi.2015.11.027",
                                    "10.1016/j.ssi.2015.11.027; 10.9999/zz")}) == 1
    assert groups["10.1016/j.ssi.2015.11.027"] == "10.1016/j.ssi.2015.11.027"  # the first key alphabetically
    assert groups["10.1021/acs.chemmater.7b05139.s006"] == groups["10.1021/ACS.ChemMater.7b05139"]
    assert len(set(groups.values())) == 3


def test_unseen_composition_cv_removes_the_same_material_from_other_papers():
    import pandas as pd

    from mlsse.models.cross_validation import cross_validate

    # 20 materials, each measured by two papers; the label depends only on which material it is, so a model
    # can only score well by having seen the same material in the other paper.
    rng = np.random.default_rng(0)
    formulas = [f"Li{1 + i}Cl{2 + i}" for i in range(20)]
    value = dict(zip(formulas, rng.uniform(-8, -2, len(formulas))))
    # Each material's two papers are drawn independently, so no pair of papers always travels together.
    papers = [rng.choice(10, size=2, replace=False) for _ in formulas]
    rows = pd.DataFrame([{"composition": f, "target": value[f], "group": f"paper{papers[i][p]}", "family": ""}
                         for i, f in enumerate(formulas) for p in (0, 1)])
    descriptor = dict(zip(formulas, rng.normal(size=len(formulas))))
    features = pd.DataFrame({"li": [int(f[2:].split("Cl")[0]) for f in rows["composition"]],
                             "descriptor": rows["composition"].map(descriptor)})
    params = {"n_estimators": 200, "learning_rate": 0.3, "min_child_weight": 0.0, "objective": "reg:squarederror",
              "subsample": 1.0, "colsample_bytree": 1.0}
    papers = cross_validate(rows, features, params, n_splits=5)
    unseen = cross_validate(rows, features, params, n_splits=5, unseen_compositions=True)
    papers, unseen = papers.report, unseen.report
    assert (papers["held_out"], unseen["held_out"]) == ("papers", "papers+compositions")
    assert papers["models"]["mlsse"]["mae"] < 0.5 * unseen["models"]["mlsse"]["mae"]
    # Both papers report the same value for every material, so they reproduce each other exactly.
    assert papers["repeat_measurements"]["n"] == 40
    assert papers["repeat_measurements"]["mae_other_papers"] == pytest.approx(0.0)


def test_probability_metrics_score_a_forecast_against_events():
    from mlsse.models.metrics import probability_metrics

    event = np.array([0, 0, 0, 1, 1, 0, 1, 0], dtype=bool)
    p = np.array([0.01, 0.1, 0.3, 0.9, 0.6, 0.7, 1.0, 0.0])
    m = probability_metrics(event, p)
    assert (m["n"], m["n_events"]) == (8, 3)
    assert m["roc_auc"] == pytest.approx(14 / 15)  # one of the 15 (event, non-event) pairs misordered: 0.6 < 0.7
    assert m["brier"] == pytest.approx(np.mean((p - event) ** 2))
    assert m["brier_base_rate"] == pytest.approx(3 / 8 * 5 / 8)
    # bins [0, .05), [.05, .2), [.2, .5), [.5, .8), [.8, 1]: 1.0 falls in the last one
    assert [b["n"] for b in m["bins"]] == [2, 1, 1, 2, 2]
    assert m["bins"][3]["observed_rate"] == 0.5 and m["bins"][4]["mean_probability"] == pytest.approx(0.95)
    assert probability_metrics(np.zeros(3, dtype=bool), np.zeros(3))["roc_auc"] is None


def test_repeat_measurement_deviation_compares_each_row_with_other_papers_median():
    from mlsse.models.metrics import repeat_measurement_deviation

    compositions = ["A", "A", "A", "A", "B", "C", "C"]
    groups = ["p1", "p1", "p2", "p3", "p1", "p1", "p1"]
    values = [0.30, 0.50, 0.40, 0.60, 0.20, 0.1, 0.9]
    deviation = repeat_measurement_deviation(compositions, groups, values)
    # Row 0 (paper 1) against the median of papers 2 and 3 (0.40, 0.60) = 0.50; row 2 against 0.30, 0.50, 0.60.
    np.testing.assert_allclose(deviation[:4], [0.20, 0.0, 0.10, 0.20])
    # B has one paper, and C's two values come from the same paper: neither is a repeat by another paper.
    assert np.isnan(deviation[4:]).all()
    # Each paper counts once: paper 1's three rows of D are one value (0.1), so paper 3's 0.9 is compared with
    # the median of 0.1 and 0.5, not with 0.1 outvoting 0.5.
    d = repeat_measurement_deviation(["D"] * 5, ["p1", "p1", "p1", "p2", "p3"], [0.1, 0.1, 0.1, 0.5, 0.9])
    assert d[4] == pytest.approx(0.6)


def test_views_average_one_booster_per_view_and_shap_still_sums():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 5))
    y = X[:, 0] - 2 * X[:, 3] + rng.normal(scale=0.1, size=120)
    groups = np.arange(120) % 12
    views = [[0, 1, 2], [3, 4]]
    model = ConformalBoostedRegressor(n_estimators=30, views=views).fit(X, y, groups)
    single = [ConformalBoostedRegressor(n_estimators=30, calibrate=False).fit(X[:, v], y).predict(X[:, v])
              for v in views]
    np.testing.assert_allclose(model.predict(X), np.mean(single, axis=0), rtol=0, atol=1e-6)
    contributions = model.contributions(X)
    np.testing.assert_allclose(contributions.sum(axis=1), model.predict(X), rtol=0, atol=1e-4)
    assert model.feature_importances_.sum() == pytest.approx(1.0)
    assert not hasattr(ConformalBoostedRegressor(calibrate=False).fit(X, y), "interval_half_width_")


def test_forest_member_joins_the_mean_reads_missing_as_minus_one_and_shap_still_sums():
    from xgboost import XGBRFRegressor

    from mlsse.models.estimator import FOREST_PARAMS

    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 5))
    y = X[:, 0] - 2 * X[:, 3] + rng.normal(scale=0.1, size=150)
    X[::7, 4] = np.nan
    groups = np.arange(150) % 15
    model = ConformalBoostedRegressor(n_estimators=30, views=[[0, 1, 2]], forest_views=[[2, 3, 4]],
                                      random_state=5).fit(X, y, groups)
    assert len(model.boosters_) == 2 and [filled for _, filled in model.members()] == [False, True]
    filled = np.where(np.isnan(X[:, [2, 3, 4]]), -1.0, X[:, [2, 3, 4]])
    forest = XGBRFRegressor(**FOREST_PARAMS, random_state=5, n_jobs=2, tree_method="hist").fit(filled, y)
    booster = ConformalBoostedRegressor(n_estimators=30, calibrate=False, random_state=5).fit(X[:, [0, 1, 2]], y)
    np.testing.assert_allclose(model.predict(X), (booster.predict(X[:, [0, 1, 2]]) + forest.predict(filled)) / 2,
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(model.contributions(X).sum(axis=1), model.predict(X), rtol=0, atol=1e-4)
    assert np.isfinite(model.interval_half_width_) and not np.isnan(model.oof_prediction_).any()
    assert model.feature_importances_[3] > 0 and model.feature_importances_.sum() == pytest.approx(1.0)


def test_a_saved_forest_member_loads_back_with_the_same_predictions_and_shap(tmp_path):
    from mlsse.features import FEATURIZER_VERSION
    from mlsse.models.predictor import Predictor
    from mlsse.models.storage import load_model, save_model

    rng = np.random.default_rng(6)
    X = rng.normal(size=(120, 4))
    y = X[:, 0] + X[:, 2] ** 2 + rng.normal(scale=0.1, size=120)
    X[::5, 2] = np.nan
    groups = np.arange(120) % 10
    sigma = ConformalBoostedRegressor(n_estimators=20, views=[[0, 1]], forest_views=[[1, 2, 3]]).fit(X, y, groups)
    ea = ConformalBoostedRegressor(n_estimators=20).fit(X, y / 10, groups)
    names = ["f0", "f1", "f2", "f3"]
    domain = ApplicabilityDomain().fit(np.nan_to_num(X[:, :2]), [{"Li"}] * len(X))
    save_model(Predictor(sigma_model=sigma, ea_model=ea, feature_names=names, domain=domain,
                         domain_features=names[:2], metadata={"featurizer_version": FEATURIZER_VERSION}), tmp_path / "m")
    loaded = load_model(tmp_path / "m").sigma_model
    assert [filled for _, filled in loaded.members()] == [False, True]
    np.testing.assert_array_equal(loaded.predict(X), sigma.predict(X))
    np.testing.assert_allclose(loaded.contributions(X), sigma.contributions(X), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="forest_views: view 0 has a column index outside"):
        ConformalBoostedRegressor(n_estimators=5, forest_views=[[0, 9]], calibrate=False).fit(X, y)
    with pytest.raises(ValueError, match="forest_views must be None or hold at least one view"):
        ConformalBoostedRegressor(n_estimators=5, forest_views=[], calibrate=False).fit(X, y)


def test_a_model_is_saved_whole_over_an_earlier_one_and_never_over_other_files(tmp_path, monkeypatch):
    from mlsse.errors import ModelError
    from mlsse.features import FEATURIZER_VERSION
    from mlsse.models.predictor import Predictor
    from mlsse.models.storage import load_model, save_model

    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] + rng.normal(scale=0.1, size=60)
    groups = np.arange(60) % 6
    domain = ApplicabilityDomain().fit(X, [{"Li"}] * len(X))

    def predictor(n_views):
        views = [[0, 1], [1, 2]][:n_views]
        model = ConformalBoostedRegressor(n_estimators=10, views=views).fit(X, y, groups)
        return Predictor(sigma_model=model, ea_model=ConformalBoostedRegressor(n_estimators=10).fit(X, y, groups),
                         feature_names=["f0", "f1", "f2"], domain=domain, domain_features=["f0", "f1"],
                         metadata={"featurizer_version": FEATURIZER_VERSION})

    target = tmp_path / "m"
    save_model(predictor(2), target)
    assert (target / "sigma-1.ubj.gz").is_file()
    save_model(predictor(1), target)  # fewer members: the earlier model's second booster must not linger
    assert sorted(p.name for p in target.iterdir()) == ["MODEL_CARD.md", "ea-0.ubj.gz", "metadata.json",
                                                       "sigma-0.ubj.gz"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging directory left behind
    # a save that fails half-way leaves the earlier model as it was
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    monkeypatch.setattr("mlsse.models.storage._write_files",
                        lambda predictor, d: (d.joinpath("sigma-0.ubj.gz").write_bytes(b"x"), 1 / 0))
    with pytest.raises(ZeroDivisionError):
        save_model(predictor(2), target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    # Refused before anything is written: a directory with someone's other files (also beside a model, or
    # beside any metadata.json), a file, a symbolic link, the working directory.
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "lab.txt").write_text("keep me")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "metadata.json").write_text("{}")
    (tmp_path / "other" / "results.csv").write_text("keep me")
    (tmp_path / "format").mkdir()
    (tmp_path / "format" / "metadata.json").write_text('{"format": "someone-else/1"}')
    (tmp_path / "file").write_text("keep me too")
    (tmp_path / "link").symlink_to(target)
    monkeypatch.undo()
    for name in ("beside", "subdir"):
        save_model(predictor(1), tmp_path / name)
    (tmp_path / "beside" / "my_notes.txt").write_text("keep me")
    (tmp_path / "subdir" / "sigma-1.ubj.gz").mkdir()  # a model file's name, but a directory
    (tmp_path / "subdir" / "sigma-1.ubj.gz" / "data.csv").write_text("keep me")
    (tmp_path / "beside" / "inner").mkdir()
    monkeypatch.chdir(tmp_path / "beside" / "inner")
    kept = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for occupied, problem in ((tmp_path / "notes", "a directory holding lab.txt,"),
                              (tmp_path / "other", "a directory holding results.csv,"),
                              (tmp_path / "format", "a directory whose metadata.json is not an mlsse model's"),
                              (tmp_path / "subdir", "a directory holding sigma-1.ubj.gz,"),
                              (tmp_path / "beside", "the working directory or one of its parents"),
                              (tmp_path / "beside" / "inner", "the working directory"), (tmp_path / "file", "a file"),
                              (tmp_path / "link", "a symbolic link")):
        with pytest.raises(ModelError, match=f"cannot save a model at {occupied}: it is {problem}"):
            save_model(predictor(1), occupied)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="cannot save a model at beside: it is a directory holding inner, my_notes"):
        save_model(predictor(1), "beside")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == kept
    # A process killed between the two renames leaves the earlier model aside; loading names it, the next
    # save puts it back before replacing it.
    moved = tmp_path / ".m.killed.old"
    target.rename(moved)
    with pytest.raises(ModelError, match=r"no model at .*m \(metadata.json missing\); a save killed half-way left "
                                         r"the earlier model at .*\.m\.killed\.old: rename it back to m"):
        load_model(target)
    save_model(predictor(2), target)
    assert not moved.exists() and (target / "sigma-1.ubj.gz").is_file()
    assert not list(tmp_path.glob(".m.*"))


def test_mixture_mean_moves_with_the_probability_in_proportion():
    from mlsse.models.ensemble import mixture_mean

    p = np.linspace(0.0, 1.0, 101)
    mean = mixture_mean(np.full(len(p), -4.0), p, -15.0)
    assert mean[0] == -4.0 and mean[-1] == -15.0
    # Continuous in p with a bounded slope: 0.05 more probability moves it by 0.55 decades, never by a jump.
    np.testing.assert_allclose(np.diff(mean), -11.0 * 0.01, atol=1e-12)
    np.testing.assert_allclose(mixture_mean([-4.0, -6.0], [0.5, 0.25], -15.0), [-9.5, -8.25])
    assert np.isnan(mixture_mean([np.nan, -4.0], [0.1, np.nan], -15.0)).all()


def _censored_synthetic(n=400, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = -4.0 + X[:, 0] + rng.normal(scale=0.3, size=n)
    censored = X[:, 2] > 1.0  # conductivity below the detection limit, labelled −15
    y[censored] = -15.0
    return X, y, censored, np.arange(n) % 40


def test_censored_rows_train_a_classifier_and_the_prediction_is_the_mixture_mean():
    from mlsse.models.ensemble import mixture_mean

    X, y, censored, groups = _censored_synthetic()
    model = ConformalBoostedRegressor(n_estimators=60, views=[[0, 1, 2], [0, 3, 4]], censored_value=-15.0,
                                      random_state=2).fit(X, y, groups)
    # The regressors see only the measured rows.
    measured_only = ConformalBoostedRegressor(n_estimators=60, views=[[0, 1, 2], [0, 3, 4]], calibrate=False,
                                              random_state=2).fit(X[~censored], y[~censored])
    p = model.predict_censored_probability(X)
    np.testing.assert_allclose(model.predict(X), mixture_mean(measured_only.predict(X), p, -15.0),
                               rtol=0, atol=1e-6)
    assert p[censored].mean() > 0.8 and p[~censored].mean() < 0.1
    # Contributions still sum to the prediction; the feature that makes a censored σ likely pushes it down.
    contributions = model.contributions(X)
    np.testing.assert_allclose(contributions.sum(axis=1), model.predict(X), rtol=0, atol=1e-4)
    assert np.ptp(contributions[:, -1]) < 1e-4  # the bias stays one number (up to float32 rounding)
    assert contributions[censored, 2].mean() < -5.0
    # Why: on held-out rows it beats a squared-error fit of the −15 labels, whose mean pulls measured rows down.
    X_new, y_new, _, _ = _censored_synthetic(seed=8)
    squared = ConformalBoostedRegressor(n_estimators=60, views=[[0, 1, 2], [0, 3, 4]], calibrate=False,
                                        objective="reg:squarederror", random_state=2).fit(X, y)
    assert np.mean(np.abs(model.predict(X_new) - y_new)) < np.mean(np.abs(squared.predict(X_new) - y_new))
    assert np.isfinite(model.interval_half_width_) and not np.isnan(model.oof_prediction_).any()
    # Without a censored row there is no classifier and the model is the plain mean.
    plain = ConformalBoostedRegressor(n_estimators=20, censored_value=-15.0, calibrate=False).fit(X[~censored],
                                                                                                   y[~censored])
    assert plain.censor_classifier_ is None and np.all(plain.predict_censored_probability(X) == 0)
    with pytest.raises(ValueError, match="every target is censored"):
        ConformalBoostedRegressor(n_estimators=5, censored_value=-15.0, calibrate=False).fit(X[censored], y[censored])


def test_probability_below_a_threshold_comes_from_the_predicted_mixture():
    from scipy.stats import norm

    X, y, censored, _ = _censored_synthetic()
    model = ConformalBoostedRegressor(n_estimators=40, censored_value=-15.0, calibrate=False, random_state=2).fit(X, y)
    p = model.predict_censored_probability(X)
    mean = model._predict_members((model.boosters_, None), X)
    below = model.predict_probability_below(X, -4.0)
    np.testing.assert_allclose(below, p + (1 - p) * norm.cdf((-4.0 - mean) / 1.2), rtol=0, atol=1e-6)
    # a likelier censored value lowers the prediction and raises the probability below any threshold above it
    order = np.argsort(p)
    assert np.corrcoef(p[order], below[order])[0, 1] > 0.5
    # the point mass at −15 counts only for a threshold above it
    assert np.all(model.predict_probability_below(X, -14.9) >= p - 1e-9)
    assert p[censored].mean() > 0.8 and model.predict_probability_below(X, -15.1)[censored].max() < 0.01


def test_censored_shift_contributions_stay_bounded_when_log_odds_cancel():
    # Censoring driven by X2 − X3: the two push the log-odds opposite ways and often nearly cancel, where a plain
    # φ/(z − z₀) share of the shift would explode.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5))
    y = -4.0 + X[:, 0]
    censored = X[:, 2] - X[:, 3] > 1.0
    y[censored] = -15.0
    model = ConformalBoostedRegressor(n_estimators=60, censored_value=-15.0, calibrate=False).fit(X, y)
    prediction, contributions = model.predict(X), model.contributions(X)
    np.testing.assert_allclose(contributions.sum(axis=1), prediction, rtol=0, atol=1e-4)
    # No single feature moves a prediction by more than the whole censored shift can (to −15 from the mean).
    largest_shift = np.max(prediction.max() - prediction) + 1.0
    assert np.abs(contributions[:, :-1]).max() <= largest_shift
    assert contributions[censored, 2].mean() < -2.0 and contributions[censored, 3].mean() < -2.0
    assert np.ptp(contributions[:, -1]) < 1e-4


def test_a_saved_censor_classifier_loads_back_and_a_missing_one_is_an_error(tmp_path):
    from mlsse.errors import ModelError
    from mlsse.features import FEATURIZER_VERSION
    from mlsse.models.predictor import Predictor
    from mlsse.models.storage import load_model, save_model

    X, y, _, groups = _censored_synthetic(n=200)
    sigma = ConformalBoostedRegressor(n_estimators=20, censored_value=-15.0).fit(X, y, groups)
    ea = ConformalBoostedRegressor(n_estimators=20).fit(X, np.abs(X[:, 1]) / 10, groups)
    names = [f"f{i}" for i in range(5)]
    domain = ApplicabilityDomain().fit(X[:, :2], [{"Li"}] * len(X))
    save_model(Predictor(sigma_model=sigma, ea_model=ea, feature_names=names, domain=domain,
                         domain_features=names[:2], metadata={"featurizer_version": FEATURIZER_VERSION}), tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.ea_model.censor_classifier_ is None and loaded.sigma_model.censor_classifier_ is not None
    np.testing.assert_array_equal(loaded.sigma_model.predict(X), sigma.predict(X))
    np.testing.assert_allclose(loaded.sigma_model.contributions(X), sigma.contributions(X), rtol=0, atol=1e-6)
    metadata_path = tmp_path / "m" / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata_path.write_text(json.dumps({**metadata, "sigma_censor_classifier": False}))
    with pytest.raises(ModelError, match="inconsistent: .*sigma_censor_classifier=False but sigma-censored.ubj.gz "
                                         "exists"):
        load_model(tmp_path / "m")
    metadata_path.write_text(json.dumps(metadata))
    (tmp_path / "m" / "sigma-censored.ubj.gz").unlink()
    with pytest.raises(ModelError, match="incomplete: sigma-censored.ubj.gz missing"):
        load_model(tmp_path / "m")


def test_views_are_checked_and_frozen_at_fit():
    from sklearn.exceptions import NotFittedError

    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(60, 4)), rng.normal(size=60)
    for views, message in (([], "at least one view"), ([[0, 1], []], "views: view 1"), ([[0, 4]], "outside 0…3"),
                           ([[0.5, 1]], "view 0")):
        with pytest.raises(ValueError, match=message):
            ConformalBoostedRegressor(n_estimators=5, views=views, calibrate=False).fit(X, y)
    model = ConformalBoostedRegressor(n_estimators=20, views=np.array([[0, 1], [2, 3]]), calibrate=False).fit(X, y)
    before = model.predict(X)
    model.set_params(views=[[2, 3], [0, 1]])  # changes the next fit, not the fitted boosters
    np.testing.assert_array_equal(model.predict(X), before)
    with pytest.raises(NotFittedError, match="calibrate=False"):
        model.predict_interval(X)



def test_training_rows_get_groups_whatever_the_table_index():
    import pandas as pd

    from mlsse.models.targets import ea_training_rows, sigma_training_rows

    table = pd.DataFrame({
        "composition": ["Li3N", "Li3BrO", "Li3BrO", "LiI"], "sigma_S_cm": [1e-3, 1e-6, 2e-6, 1e-7],
        "temperature_C": [25.0, 25.0, 25.0, 25.0], "censored": [False] * 4, "ea_eV": [0.3, 0.5, 0.6, 0.4],
        "value_origin": ["table"] * 4, "arrhenius_r2": [float("nan")] * 4,
        "reference": ["10.1021/aa", "10.1021/bb; 10.1016/cc", "10.1016/cc", "seed.txt Table 1"],
    }, index=[7, 7, 3, 0])  # repeated and unordered labels, as a user's concatenated table may have
    for rows in (sigma_training_rows(table), ea_training_rows(table)):
        assert rows["group"].tolist() == ["10.1021/aa", "10.1016/cc", "10.1016/cc", "seed.txt"]


def test_a_model_with_one_paired_width_per_target_still_loads(small_model, tmp_path):
    """Models of format 5 saved before distance classes hold one paired width per target."""
    import json
    import shutil

    from mlsse.models.card import model_card
    from mlsse.models.storage import load_model

    old = tmp_path / "old"
    shutil.copytree(small_model, old)
    metadata = json.loads((old / "metadata.json").read_text(encoding="utf-8"))
    metadata["paired_half_widths"] = {"log10_sigma": 0.9, "ea_eV": 0.07}
    (old / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    predictor = load_model(old)
    assert predictor.paired_half_width("log10_sigma", [0.0, 0.03, 0.5]).tolist() == [0.9, 0.9, 0.9]
    assert predictor.paired_half_width("ea_eV", 0.2).tolist() == [0.07]
    assert "log10_sigma ±0.900 from 0; ea_eV ±0.070 from 0" in model_card(predictor.metadata)


def test_the_ea_model_reads_the_sigma_prediction_and_calibrates_on_the_held_out_one(tmp_path):
    """The Ea model's last input is the σ model's log10 σ; its interval is calibrated on the value a σ model that
    never saw the row's paper gives (``X_held_out``), and the saved model keeps reading it."""
    from mlsse.features import FEATURIZER_VERSION
    from mlsse.models.predictor import Predictor
    from mlsse.models.recipe import PREDICTED_LOG10_SIGMA, with_predicted_log10_sigma
    from mlsse.models.storage import load_model, save_model

    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 4))
    log10_sigma = 2 * X[:, 0] - X[:, 1] + rng.normal(scale=0.2, size=150)
    ea = 0.4 - 0.03 * log10_sigma + rng.normal(scale=0.01, size=150)
    groups = np.arange(150) % 10
    sigma = ConformalBoostedRegressor(n_estimators=30).fit(X, log10_sigma, groups, keep_fold_models=True)
    # Each row by the calibration fold that held its group out; a group never trained on, by the fitted model.
    np.testing.assert_array_equal(sigma.predict_held_out(X, groups), sigma.oof_prediction_)
    np.testing.assert_array_equal(sigma.predict_held_out(X[:5], [99] * 5), sigma.predict(X[:5]))
    with pytest.raises(ValueError, match="keep_fold_models=True"):
        ConformalBoostedRegressor(n_estimators=5).fit(X, log10_sigma, groups).predict_held_out(X, groups)
    fit_input = with_predicted_log10_sigma(X, sigma.predict(X))
    held_out = with_predicted_log10_sigma(X, sigma.predict_held_out(X, groups))
    plain = ConformalBoostedRegressor(n_estimators=30).fit(fit_input, ea, groups)
    stacked = ConformalBoostedRegressor(n_estimators=30).fit(fit_input, ea, groups, X_held_out=held_out)
    # The fitted boosters are the same; only the calibration folds read the held-out σ, and err more on it.
    np.testing.assert_array_equal(stacked.predict(fit_input), plain.predict(fit_input))
    assert np.mean(np.abs(stacked.oof_prediction_ - ea)) > np.mean(np.abs(plain.oof_prediction_ - ea))
    assert stacked.interval_half_width_ > plain.interval_half_width_
    with pytest.raises(ValueError, match="X_held_out has shape"):
        ConformalBoostedRegressor(n_estimators=5).fit(fit_input, ea, groups, X_held_out=X)

    names = ["f0", "f1", "f2", "f3"]
    domain = ApplicabilityDomain().fit(X[:, :2], [{"Li"}] * len(X))
    predictor = Predictor(sigma_model=sigma, ea_model=stacked, feature_names=names, domain=domain,
                          domain_features=names[:2], metadata={"featurizer_version": FEATURIZER_VERSION},
                          ea_reads_predicted_log10_sigma=True)
    frame = pd.DataFrame(X, columns=names)
    assert predictor.input_names("ea") == [*names, PREDICTED_LOG10_SIGMA]
    np.testing.assert_allclose(predictor.model_input(frame, "ea")[:, -1], sigma.predict(X), rtol=0, atol=0)
    contributions = predictor.explain_features(frame, "ea_eV")
    assert list(contributions.columns) == [*names, PREDICTED_LOG10_SIGMA, "bias"]
    # Ea is learnt from σ here, so most of its attribution goes to the σ model's prediction.
    assert contributions[PREDICTED_LOG10_SIGMA].abs().mean() > contributions[names].abs().mean().max()
    np.testing.assert_allclose(contributions.sum(axis=1), stacked.predict(fit_input), rtol=0, atol=1e-4)
    save_model(predictor, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.ea_reads_predicted_log10_sigma
    np.testing.assert_array_equal(loaded.ea_model.predict(loaded.model_input(frame, "ea")), stacked.predict(fit_input))
    np.testing.assert_array_equal(loaded.sigma_model.predict(X), sigma.predict(X))
