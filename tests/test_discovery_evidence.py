"""Discovery metrics against hand counts, and what the training data holds of a query (evidence, anchoring)."""

import numpy as np
import pandas as pd
import pytest

from mlsse.models.evidence import MeasuredCompositions, anchored_log10_sigma, evidence_key, measured_half_width
from mlsse.models.metrics import discovery_metrics


def test_discovery_metrics_count_the_fast_conductors_as_a_screen_would():
    # 100 materials, 10 of them at or above 1e-3 S/cm; the prediction puts 5 of those first, then 5 slow ones.
    y = np.concatenate([np.full(10, -2.5), np.linspace(-8, -4.5, 90)])
    predicted = np.concatenate([[-2.0] * 5, [-6.0] * 5, [-2.8] * 5, np.linspace(-9, -5, 85)])
    d = discovery_metrics(y, predicted)
    fast = d["1e-03"]
    assert fast["prevalence"] == 0.1 and fast["n_positive"] == 10
    # called fast: the 5 hits and the 5 slow ones at −2.8
    assert fast["precision"] == 0.5 and fast["recall"] == 0.5 and fast["f1"] == pytest.approx(0.5)
    assert fast["top"]["10"] == {"k": 10, "precision": 0.5, "daf": pytest.approx(5.0)}
    assert fast["top"]["2%"]["k"] == 2 and fast["top"]["2%"]["precision"] == 1.0
    assert fast["top"]["5%"]["k"] == 5 and fast["top"]["5%"]["daf"] == pytest.approx(10.0)
    # the top 5 % by measured σ are 5 of the 10 tied fast ones (stable order: the first five), found at picks 1–3
    assert d["n_top_5pct"] == 5 and d["picks_to_find_3_of_top_5pct"] == 3
    assert d["random_picks_to_find_3_of_top_5pct"] == pytest.approx(3 * 101 / 6)
    # deciles of measured σ, lowest first: the top decile is the fast ten, predicted 0.5 high or 3.5 low
    assert len(d["decile_mean_error"]) == 10
    assert d["decile_mean_error"][-1] == pytest.approx(np.mean(predicted[:10] - y[:10]))
    assert d["decile_edges"][0] == -8.0 and d["decile_edges"][-1] == -2.5


def test_discovery_deciles_leave_censored_rows_out():
    y = np.array([-15.0] * 5 + list(np.linspace(-6, -2, 20)))
    predicted = y + 1.0
    d = discovery_metrics(y, predicted, measured=y > -15)
    assert d["decile_mean_error"] == pytest.approx([1.0] * 10) and d["decile_edges"][0] == -6.0
    assert discovery_metrics(y, predicted)["decile_edges"][0] == -15.0


def _measured():
    return MeasuredCompositions.from_rows(
        ["Li6PS5Cl", "Li12P2S10Cl2", "Li6PS5Cl", "Li3YCl6", "Li3YCl6", "LiTaO3", "Li2.5Y0.5Zr0.5Cl6"],
        [-2.7, -2.5, -2.3, -3.3, -0.1, -15.0, -2.9], [False, False, False, False, False, True, False],
        ["a", "b", "a", "c", "d", "e", "f"], additives=[None, None, None, None, None, None, "BaTiO3"],
        additive_wt_pct=[None, None, None, None, None, None, 5])


def test_measurements_of_one_composition_are_summarised_per_paper():
    measured = _measured()
    records = measured.records([evidence_key("Li6PS5Cl"), evidence_key("Li3YCl6"), evidence_key("LiTaO3"),
                                evidence_key("Li2.5Y0.5Zr0.5Cl6", "BaTiO3", 5), evidence_key("Li2.5Y0.5Zr0.5Cl6"),
                                None])
    # Li6PS5Cl and Li12P2S10Cl2 are one composition: paper a's median (−2.5) and paper b's (−2.5)
    assert records.loc[0, "measured_log10_sigma"] == pytest.approx(-2.5) and records.loc[0, "measured_papers"] == 2
    assert records.loc[0, "measured_spread_log10"] == pytest.approx(0.0)
    assert records.loc[1, "measured_spread_log10"] == pytest.approx(3.2)  # two papers that disagree
    assert records.loc[2, "measured_censored"] is True and records.loc[2, "measured_references"] == "e"
    # a composite is measured under its additive and wt%: the bare host was never measured
    assert records.loc[3, "measured_log10_sigma"] == pytest.approx(-2.9)
    assert np.isnan(records.loc[4, "measured_log10_sigma"]) and records.loc[4, "measured_papers"] == 0
    assert np.isnan(records.loc[5, "measured_log10_sigma"])
    value, anchored = anchored_log10_sigma([-4.0, -4.0, -4.0, -4.0, -4.0, -4.0], records)
    assert anchored.tolist() == [True, True, True, True, False, False]
    np.testing.assert_allclose(value, [-2.5, -1.7, -15.0, -2.9, -4.0, -4.0])


def test_nearest_measured_compositions_are_named_without_the_query_itself():
    neighbours = _measured().nearest(["Li6PS5Cl", "Li3Y0.9Zr0.1Cl6", "Li(("])
    first = neighbours[0]
    assert [n[0] for n in first][0] in ("Li3YCl6", "LiTaO3")  # never itself (distance 0)
    assert all(n[4] > 0 for n in first) and len(first) == 2  # the composite is not a neighbour
    formula, value, censored, references, distance = neighbours[1][0]
    assert formula == "Li3YCl6" and value == pytest.approx(-1.7) and references == "c; d"
    assert distance == pytest.approx(0.01)  # 0.1 of 10 atoms exchanged
    assert neighbours[2] == []  # not a formula


def test_the_interval_of_a_known_composition_is_how_far_papers_are_apart():
    rng = np.random.default_rng(0)
    keys = [f"K{i // 3}" for i in range(120)]
    groups = [f"p{i}" for i in range(120)]
    values = np.repeat(rng.normal(-4, 1, 40), 3) + rng.normal(0, 0.5, 120)
    width = measured_half_width(keys, groups, values, np.zeros(120, dtype=bool))
    # |one paper − the median of the two others| of N(0, 0.5) noise: its 80 % quantile is about 0.8
    assert 0.5 < width < 1.1
    assert measured_half_width(keys[:20], groups[:20], values[:20], np.zeros(20, dtype=bool)) is None


def test_a_known_composition_is_predicted_as_its_measurements_with_its_evidence(small_model):
    from mlsse.api import predict

    out = predict(pd.DataFrame({"composition": ["Li2.3ZrCl5.85N0.15", "Li2.35ZrCl5.825N0.175"]}),
                  model=small_model)
    known, new = out.iloc[0], out.iloc[1]
    # the seed paper measured LZC-N0.15 at 1.5 mS/cm: that is the answer, within 0.15 decades
    assert known["log10_sigma"] == pytest.approx(np.log10(1.5e-3), abs=0.15)
    assert known["measured_papers"] >= 1 and known["note"].startswith("measured: 0.0015 S/cm at room temperature")
    assert known["in_domain"] and np.isfinite(known["model_log10_sigma"])
    assert known["log10_sigma_hi"] - known["log10_sigma"] > 0
    # an unmeasured neighbour keeps the model's prediction and names its nearest measured compositions
    assert np.isnan(new["measured_log10_sigma"]) and new["log10_sigma"] == new["model_log10_sigma"]
    assert new["nearest_1_distance"] < 0.01 and new["nearest_1"] and new["nearest_1_reference"]
    assert new["nearest_1_distance"] <= new["nearest_2_distance"] <= new["nearest_3_distance"]


def test_a_seed_file_is_named_by_its_papers_doi_where_references_are_shown():
    from mlsse.data.references import reference_label, seed_paper_dois
    from mlsse.paths import DATASETS_DIR

    assert reference_label("000_878e6fb3c4b52443.txt; 10.1021/acs.chemmater.8b01234 and 2 more") == (
        "10.1039/d5eb00116a; 10.1021/acs.chemmater.8b01234 and 2 more")
    assert reference_label(np.nan) == "" and reference_label("unknown") == "unknown"
    # every seed file a curated row was transcribed from has its DOI, as printed in the dump
    seeds = pd.read_csv(DATASETS_DIR / "seed_literature.csv", dtype=str)["source"].str.split(" ", n=1).str[0]
    assert set(seeds) <= set(seed_paper_dois())
    records = _measured().records([evidence_key("Li6PS5Cl")])
    assert records.loc[0, "measured_references"] == "a; b"  # other groups are left as they are
