"""Doping series, their scores and the paired intervals of a difference, checked on small hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from mlsse.models.series import (
    MIN_CLASS_PAIRS,
    atom_fractions,
    calibrate_paired_half_widths,
    composition_distance,
    distance_class,
    doping_series,
    half_width_at,
    member_pairs,
    pair_residuals,
    paired_coverage,
    series_scores,
)


def _rows(records):
    return pd.DataFrame(records, columns=["composition", "target", "group", "censored", "additive",
                                          "additive_wt_pct"])


def test_series_are_linked_members_of_one_paper_merged_by_composition():
    rows = _rows([
        ("Li2ZrCl6", -3.3, "A", False, None, None),
        ("Li4Zr2Cl12", -3.1, "A", False, None, None),  # the same composition up to scaling: merged by median
        ("Li2.1ZrCl5.95N0.05", -3.0, "A", False, None, None),
        ("Li2.2ZrCl5.9N0.1", -2.9, "A", False, None, None),
        ("Li2.3ZrCl5.85N0.15", -14.0, "A", True, None, None),  # censored: left out
        ("Li3PO4", -8.0, "A", False, None, None),  # two elements from the core: not in the series
        ("Li3YCl6", -3.5, "B", False, None, None),  # a paper with two members: no series
        ("Li3Y0.9Zr0.1Cl6", -3.2, "B", False, None, None),
    ])
    series = doping_series(rows)
    assert set(series["group"]) == {"A"} and series["series"].nunique() == 1
    assert list(series["composition"]) == ["Li2ZrCl6", "Li2.1ZrCl5.95N0.05", "Li2.2ZrCl5.9N0.1"]
    assert series["measured"].tolist() == pytest.approx([-3.2, -3.0, -2.9])
    assert sorted(series["rows"].iloc[0]) == [0, 1]


def test_series_scores_on_a_known_order():
    series = pd.DataFrame({"series": ["s"] * 4, "measured": [-4.0, -3.0, -2.0, -1.0]})
    perfect = series_scores(series, [-9.0, -8.0, -7.0, -6.0]).iloc[0]
    assert perfect["spearman"] == pytest.approx(1.0) and perfect["top1"] == 1.0 and perfect["pairs_right"] == 1.0
    assert perfect["chance"] == 0.25
    assert perfect["offset_free_mae"] == pytest.approx(0.0) and perfect["flat_mae"] == pytest.approx(1.0)
    swapped = series_scores(series, [-4.0, -3.0, -1.0, -2.0]).iloc[0]  # the best two swapped
    assert swapped["top1"] == 0.0 and swapped["pairs_right"] == pytest.approx(5 / 6)
    assert swapped["spearman"] == pytest.approx(0.8)


def test_atom_fractions_of_a_composite_count_the_additive_by_its_atoms():
    plain = atom_fractions("Li2.5Y0.5Zr0.5Cl6")
    assert sum(plain.values()) == pytest.approx(1.0) and plain["Cl"] == pytest.approx(6 / 9.5)
    composite = atom_fractions("Li2.5Y0.5Zr0.5Cl6", "BaTiO3", 5)
    assert sum(composite.values()) == pytest.approx(1.0)
    # by hand: 0.95 g of Li2.5Y0.5Zr0.5Cl6 (320.12 g/mol, 9.5 atoms) and 0.05 g of BaTiO3 (233.19 g/mol, 5 atoms)
    matrix, added = 0.95 / 320.123 * 9.5, 0.05 / 233.19 * 5
    assert composite["Ba"] == pytest.approx(0.2 * added / (matrix + added), rel=1e-3)
    assert 0.03 < 0.5 * sum(abs(composite.get(e, 0) - plain.get(e, 0)) for e in composite) < 0.04
    assert atom_fractions("Li3N", "BaTiO3", 0) == atom_fractions("Li3N")


def test_composition_distance_and_its_classes():
    assert composition_distance("Li2ZrCl6", "Li4Zr2Cl12") == 0
    assert composition_distance("Li3N", "NaCl") == 1
    by_hand = 0.5 * (abs(2.1 / 9.1 - 2 / 9) + 0.1 / 9.1 + abs(0.9 / 9.1 - 1 / 9) + abs(6 / 9.1 - 6 / 9))
    assert composition_distance("Li2ZrCl6", "Li2.1Y0.1Zr0.9Cl6") == pytest.approx(by_hand, abs=1e-9)
    # doping levels that land on an edge open the farther class, however the fractions were summed
    on_edge = [composition_distance("Li3InCl6", "Li3Y0.5In0.5Cl6"), composition_distance("Li3YCl6", "Li3YBr0.5Cl5.5")]
    assert on_edge == [0.05, 0.05]
    assert distance_class(on_edge).tolist() == [2, 2]
    assert distance_class([0.0, 0.019, 0.02, 0.07, 0.1, 0.9]).tolist() == [0, 0, 1, 2, 3, 3]


def test_member_pairs_and_residuals():
    series = pd.DataFrame({"series": ["a", "a", "a", "b", "b"],
                           "composition": ["Li2ZrCl6", "Li2.1ZrCl5.95N0.05", "Li2.2ZrCl5.9N0.1", "LiCl", "LiCl"],
                           "additive": ["", "", "", "", "Al2O3"], "additive_wt_pct": [0, 0, 0, 0, 10.0],
                           "measured": [-3.0, -2.5, -2.0, -6.0, -5.0]})
    pairs = member_pairs(series)
    assert len(pairs) == 3 + 1 and pairs["series"].tolist() == ["a", "a", "a", "b"]
    assert pairs[["first", "second"]].to_numpy().tolist() == [[0, 1], [0, 2], [1, 2], [3, 4]]
    assert pairs["distance"].iloc[3] > 0  # a composite differs from its matrix by its additive's atoms
    residual = pair_residuals(pairs, series["measured"], [-3.0, -2.0, -2.0, -6.0, -6.0])
    assert residual.tolist() == pytest.approx([0.5, 0.0, 0.5, 1.0])
    # an additive written as a glass in mol% is read as its components (the same distance as written out)
    glass = series.assign(additive=["", "", "", "", "65Li2O·27B2O3·8SiO2"])
    written_out = series.assign(additive=["", "", "", "", "(Li2O)0.65(B2O3)0.27(SiO2)0.08"])
    assert member_pairs(glass)["distance"].iloc[3] == pytest.approx(member_pairs(written_out)["distance"].iloc[3])
    # an additive that is free text: its distance is unknown, so the farthest class
    free = series.assign(additive=["", "", "", "", "borate glass"])
    unknown = member_pairs(free)["distance"]
    assert unknown.iloc[:3].tolist() == pairs["distance"].iloc[:3].tolist() and np.isnan(unknown.iloc[3])
    assert distance_class(unknown).tolist()[3] == 3


def test_paired_half_widths_per_class_widen_and_fall_back_when_a_class_is_thin():
    rng = np.random.default_rng(0)
    n = 400
    distance = rng.choice([0.01, 0.03, 0.07, 0.2], size=n, p=[0.4, 0.3, 0.29, 0.01])
    residual = np.abs(rng.normal(0, 1, n)) * (1 + 5 * distance)
    pairs = pd.DataFrame({"series": rng.integers(0, 40, n).astype(str), "distance": distance})
    widths = calibrate_paired_half_widths(pairs, residual, 0.8)
    assert widths["pairs"][3] < MIN_CLASS_PAIRS and widths["series"][0] >= 5
    assert np.all(np.diff(widths["half_widths"]) >= 0)
    closest = residual[distance == 0.01]
    assert np.mean(closest <= widths["half_widths"][0]) >= 0.8
    assert half_width_at(widths, [0.0, 0.05, 0.5]).tolist() == [widths["half_widths"][k] for k in (0, 2, 3)]
    # a class from too few series is not trusted with a width of its own
    one_series = calibrate_paired_half_widths(pairs.assign(series="only"), residual, 0.8)
    assert len(set(one_series["half_widths"])) == 1
    assert calibrate_paired_half_widths(pairs.iloc[:0], residual[:0]) is None


def test_paired_coverage_calibrates_on_other_folds():
    rng = np.random.default_rng(1)
    members = []
    for k in range(30):
        x = np.linspace(0, 0.2, 4)
        for level in x:
            members.append({"series": f"p{k}", "group": f"p{k}", "composition": f"Li{3 + level:g}Y{1 - level:g}"
                            f"Zr{level:g}Cl6", "additive": "", "additive_wt_pct": 0.0,
                            "measured": -3 + 2 * level + rng.normal(0, 0.1)})
    series = pd.DataFrame(members)
    predicted = series["measured"] + rng.normal(0, 0.3, len(series)) + series.index.map(lambda i: i // 4)
    folds = {f"p{k}": k % 5 for k in range(30)}
    report = paired_coverage(series, predicted, folds)
    assert report["pairs"] == 30 * 6
    assert 0.6 <= report["coverage"] <= 0.95  # an 80 % interval on exchangeable pairs; offsets cancel
    assert set(report["coverage_by_distance"]) == {"0-0.02", "0.02-0.05", "0.05-0.1", "0.1-1"}
