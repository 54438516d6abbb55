"""Tests of mlsse.features: equality with matminer, invariances, odd inputs, the featurizer contract, Li-site
geometry, the on-disk cache and featurize_table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matminer.featurizers.base import MultipleFeaturizer
from matminer.featurizers.composition import (
    ElementProperty,
    IonProperty,
    Stoichiometry,
    ValenceOrbital,
)
from pymatgen.core import Composition, Lattice, Structure

from mlsse.chemistry import charge_balance
from mlsse.errors import DataError
from mlsse.features import FEATURIZER_VERSION, featurize_compositions, featurize_table
from mlsse.features.composition import parsed_composition
from mlsse.features.featurizers import LiElectrolyteFeaturizer, OxidationStateFeaturizer
from mlsse.features.preset import BLOCK_LABELS
from mlsse.features.process import PROCESS_LABELS, CompositeProcessFeaturizer
from mlsse.features.structure import (
    LATTICE_LABELS,
    STRUCTURE_LABELS,
    LatticeFeaturizer,
    LiSiteFeaturizer,
    featurize_structure,
)

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"

VARIED = [
    "LiCl", "Li2O", "Li3N", "Li2.3ZrCl5.85N0.15", "Li6.4La3Zr1.4Ta0.6O12", "Li10GeP2S12", "Li6PS5Cl",
    "Li7P3S11", "Li3YCl6", "Li1.3Al0.3Ti1.7(PO4)3", "Li0.33La0.56TiO3", "LiBH4", "Li2OHBr", "Fe3O4",
    # 20 elements, fractional amounts
    "Li1.1Na0.2K0.05Mg0.3Ca0.1Sr0.02Ba0.01Al0.4Ga0.03In0.02Si0.5Ge0.1Sn0.05P0.7S3.1Se0.2O1.3F0.1Cl0.6Br0.2",
    "Li", "O", "LiO0.0001", "Li1e-4O", "Li0.0001O0.00010001", "Li1O1.0001",  # tiny amounts, mode ties
    "LiXe", "LiHe2", "LiLu0.5Og0.25",  # elements with imputed Magpie data
]


def curated_compositions() -> list[str]:
    """Compositions of the public training data (empty if the external files are absent)."""
    formulas = []
    for name, column in (("obelix_train.csv", "Reduced Composition"), ("liverpool_ionics.csv", "composition")):
        path = EXTERNAL / name
        if path.is_file():
            formulas += pd.read_csv(path, usecols=[column])[column].dropna().astype(str).str.strip('"').tolist()
    return formulas


def matminer_frame(formulas: list[str]) -> pd.DataFrame:
    """Magpie + Stoichiometry + ValenceOrbital straight from matminer, one call per composition."""
    featurizers = [ElementProperty.from_preset("magpie"), Stoichiometry(), ValenceOrbital()]
    rows = [[v for f in featurizers for v in f.featurize(Composition(x))] for x in formulas]
    labels = [label for f in featurizers for label in f.feature_labels()]
    return pd.DataFrame(rows, columns=labels, dtype=float)


def assert_matches_matminer(formulas: list[str]) -> None:
    ours = featurize_compositions(formulas, blocks=["magpie", "stoichiometry", "valence"], cache=False)
    theirs = matminer_frame(formulas)
    assert list(ours.columns) == list(theirs.columns)  # matminer's labels, in matminer's order
    mine, ref = ours.to_numpy(), theirs.to_numpy()
    assert np.array_equal(np.isnan(mine), np.isnan(ref))
    finite = ~np.isnan(ref)
    diff = np.abs(mine[finite] - ref[finite])
    assert diff.max() <= 1e-9, f"max |diff| {diff.max()} in {theirs.columns[np.argmax(np.abs(mine - ref).max(0))]}"


# ----------------------------------------------------------------------------------------------------------------
# Equality with matminer


def test_vectorised_blocks_equal_matminer_on_varied_compositions():
    assert_matches_matminer(VARIED)
    assert len(BLOCK_LABELS["magpie"]) == 132 and len(BLOCK_LABELS["stoichiometry"]) == 6
    assert len(BLOCK_LABELS["valence"]) == 8


def test_vectorised_blocks_equal_matminer_on_every_curated_element():
    formulas = curated_compositions()
    if not formulas:
        pytest.skip(f"external data not found in {EXTERNAL}")
    unique = sorted(set(formulas))
    elements = {el.symbol for f in unique for el in Composition(f).elements}
    assert len(elements) > 40
    assert_matches_matminer(unique)


def test_mode_follows_matminer_tie_rule():
    # matminer: np.isclose on the raw amounts -> the 1e-4 pair ties (smallest value wins), the 1 / 1.0001 pair not
    frame = featurize_compositions(["Li0.0001O0.00010001", "Li1O1.0001"], blocks=["magpie"], cache=False)
    li_z, o_z = 3, 8
    assert frame["MagpieData mode Number"].tolist() == [li_z, o_z]


def test_ion_property_matches_matminer_on_integer_formulas():
    formulas = ["LiCl", "Li2O", "Li3N", "Fe3O4", "FeO", "Fe2O2", "Li3PS4", "LiFePO4", "Li7La3Zr2O12", "Li2O2",
                "LiO", "NaCl2", "Li", "Li3YCl6", "Li6PS5Cl", "Li7BiO6"]
    ours = featurize_compositions(formulas, blocks=["ionic"], cache=False)
    featurizer = IonProperty()
    theirs = pd.DataFrame([featurizer.featurize(Composition(f)) for f in formulas],
                          columns=featurizer.feature_labels(), dtype=float)
    for column in theirs.columns:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=0, atol=1e-12, err_msg=column)
    assert ours["compound possible"].isin([0.0, 1.0]).all()
    assert 0.0 in ours["compound possible"].tolist()  # NaCl2 and Li7BiO6 (Bi only 3+ in the common states)


def test_charge_balance_on_fractional_formulas():
    assert charge_balance(("Cl", "Li", "N", "Zr"), (5.85, 2.3, 0.15, 1.0)) == (1.0, 1.0)   # x20: Li46Zr20Cl117N3
    # Li7La3Zr1.89Al0.15O12 carries +0.01 net charge: not balanced with fixed La3+/Zr4+/Al3+
    entry = parsed_composition("Li7La3Zr1.89Al0.15O12")
    assert charge_balance(entry.symbols, tuple(entry.amounts)) == (0.0, 0.0)
    possible, guessed = charge_balance(("Li", "O"), (1.0, 0.0001))  # 1e-4 needs a denominator > 1000
    assert math.isnan(possible) and guessed == 0.0
    values = OxidationStateFeaturizer(max_sites=10).featurize("Li2.3ZrCl5.85N0.15")  # 186 atoms > 10
    assert math.isnan(values[0]) and values[3] == 0.0 and values[1] > 0


def reference_charge_balance(symbols, amounts, max_sites=5000, max_denominator=1000):
    """The site-by-site search mlsse used before the vectorised one: the reference it must equal."""
    from mlsse.chemistry import common_oxidation_states, integer_amounts, reachable_charges

    ints = integer_amounts(amounts, max_denominator)
    if ints is None or sum(ints) > max_sites:
        found = math.nan
    else:
        reachable, offset = reachable_charges(symbols, ints, common_oxidation_states())
        found = float(offset <= 0 and reachable != 0 and (reachable >> -offset) & 1 == 1)
    return (1.0 if len(symbols) == 1 else found), (0.0 if math.isnan(found) else found)


def test_vectorised_charge_balance_equals_the_site_by_site_search():
    from pymatgen.core import Element

    from mlsse.chemistry import charge_balance_arrays

    rng = np.random.default_rng(7)
    pool = ["Li", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Br", "I", "N", "O", "F", "Se", "Te", "Ge", "Sn", "Sb",
            "Bi", "Mn", "Fe", "Cr", "V", "Ti", "Zr", "Y", "La", "Ta", "Nb", "W", "He", "Xe", "B", "H", "Cu", "As"]
    cases = [(("Cl", "Li", "N", "Zr"), (5.85, 2.3, 0.15, 1.0)), (("Li",), (3.0,)), (("He", "Li"), (1.0, 1.0)),
             (("Li", "O"), (1.0, 0.0001)), (("Li", "O"), (1 / 3, 1 / 6)), (("Li", "O"), (0.3333, 0.6667)),
             (("Cl", "Li", "P", "S"), (1.0, 6.0, 1.0, 5.0)), (("Li", "P", "S"), (3.003, 0.997, 4.0)),
             (("Cl", "Li", "Y"), (6.0, 3.0, 1.0)), (("Li", "O"), (4000.0, 2000.0)), (("Li", "O"), (4000.0, 2001.0)),
             (("Fe", "O"), (3.0, 4.0)), (("Li", "O"), (1.0000000001, 0.5))]
    for _ in range(400):
        symbols = tuple(sorted(rng.choice(pool, size=rng.integers(1, 6), replace=False).tolist()))
        kind = rng.integers(4)
        if kind == 0:
            amounts = rng.integers(1, 13, size=len(symbols)).astype(float)
        elif kind == 1:
            amounts = np.round(rng.uniform(0.01, 8.0, size=len(symbols)), rng.integers(1, 4))
        elif kind == 2:
            amounts = rng.choice([1 / 3, 2 / 3, 0.125, 2.5, 1e-4, 0.05, 1.0], size=len(symbols))
        else:
            amounts = rng.integers(100, 2500, size=len(symbols)).astype(float)
        cases.append((symbols, tuple(amounts.tolist())))
    for max_sites, max_denominator in ((5000, 1000), (300, 100)):
        for symbols, amounts in cases:
            z = np.array([[Element(s).Z for s in symbols]])
            possible, guessed = charge_balance_arrays(z, np.array([amounts]), max_sites, max_denominator)
            expected = reference_charge_balance(symbols, amounts, max_sites, max_denominator)
            assert np.allclose((possible[0], guessed[0]), expected, equal_nan=True), (symbols, amounts, max_sites)
    # one call for many rows gives each row its own answer, and the scalar function is the same search
    by_size = {}
    for symbols, amounts in cases:
        by_size.setdefault(len(symbols), []).append((symbols, amounts))
    for rows in by_size.values():
        z = np.array([[Element(s).Z for s in symbols] for symbols, _ in rows])
        possible, guessed = charge_balance_arrays(z, np.array([amounts for _, amounts in rows]))
        expected = np.array([reference_charge_balance(*row) for row in rows])
        assert np.allclose(np.column_stack([possible, guessed]), expected, equal_nan=True)
        assert np.allclose([charge_balance(*row) for row in rows], expected, equal_nan=True)
    outcomes = {reference_charge_balance(*case) for case in cases}
    assert {(1.0, 1.0), (0.0, 0.0)} <= outcomes and any(math.isnan(p) for p, _ in outcomes)


# ----------------------------------------------------------------------------------------------------------------
# Invariances and odd inputs


def test_scaled_formulas_give_the_same_features():
    from mlsse.features.preset import ELEMENT_AMOUNT_LABELS

    frame = featurize_compositions(["FeO", "Fe0.5O0.5", "Fe2O2", "OFe"], cache=False)
    # The amounts per formula unit follow pymatgen's reduced composition, which leaves fractional formulas alone
    assert frame["Fe atoms per formula unit"].tolist() == [1.0, 0.5, 1.0, 1.0]
    assert frame["O atoms per formula unit"].tolist() == [1.0, 0.5, 1.0, 1.0]
    frame = frame.drop(columns=ELEMENT_AMOUNT_LABELS)
    for i in (1, 2, 3):
        pd.testing.assert_series_equal(frame.iloc[0], frame.iloc[i], check_names=False, rtol=1e-12)
    li = featurize_compositions(["LiCl", "Li0.5Cl0.5", "Li2Cl2"], cache=False)
    assert li["Li per formula unit"].tolist() == [1.0, 0.5, 1.0]
    assert li["Li atoms per formula unit"].tolist() == [1.0, 0.5, 1.0]
    same = li.drop(columns=["Li per formula unit", *ELEMENT_AMOUNT_LABELS])
    for i in (1, 2):
        pd.testing.assert_series_equal(same.iloc[0], same.iloc[i], check_names=False, rtol=1e-12)


def test_lithium_descriptors_by_hand():
    row = featurize_compositions(["Li2.3ZrCl5.85N0.15"], blocks=["lithium"], cache=False).iloc[0]
    total = 2.3 + 1 + 5.85 + 0.15
    assert row["Li fraction"] == pytest.approx(2.3 / total)
    assert row["Li per formula unit"] == pytest.approx(2.3)
    assert row["Li per anion"] == pytest.approx(2.3 / 6.0)
    assert row["N fraction"] == pytest.approx(0.15 / total) and row["O fraction"] == 0.0
    assert row["anion species count"] == 2 and row["non-Li cation species count"] == 1
    # DemlData electric_pol: Cl 2.18, N 1.10 A^3; Shannon radii Cl- 1.67, N3- 1.32 A
    assert row["mean anion polarizability (A^3)"] == pytest.approx((5.85 * 2.18 + 0.15 * 1.10) / 6.0)
    assert row["mean anion radius (A)"] == pytest.approx((5.85 * 1.67 + 0.15 * 1.32) / 6.0)
    hydroxide, metal = featurize_compositions(["Li2OHBr", "LiAl"], blocks=["lithium"], cache=False).to_dict("records")
    assert hydroxide["anion species count"] == 2 and hydroxide["non-Li cation species count"] == 0  # O, Br; H in OH
    assert hydroxide["H fraction"] == pytest.approx(0.2)
    assert math.isnan(metal["Li per anion"]) and math.isnan(metal["mean anion radius (A)"])


def test_single_element_and_tiny_amounts():
    frame = featurize_compositions(["Li", "LiO0.0001", "Li1e-4O"], cache=False)
    assert frame.loc[0, "0-norm"] == 1 and frame.loc[0, "MagpieData range Number"] == 0
    assert frame.loc[0, "compound possible"] == 1.0 and frame.loc[0, "max ionic char"] == 0.0  # as matminer
    assert frame.loc[1, "Li fraction"] == pytest.approx(1 / 1.0001)
    assert frame.loc[2, "Li fraction"] == pytest.approx(1e-4 / 1.0001)
    assert frame.notna().sum(axis=1).min() > 150


def test_unknown_element_names_it_and_its_position():
    with pytest.raises(DataError) as info:
        featurize_compositions(["LiCl", "Li2O", "Li3N", "LiXx2"], cache=False)
    assert str(info.value) == "composition 3 'LiXx2': unknown element 'Xx'"
    with pytest.raises(DataError, match=r"^composition 1 'Li2\(O': cannot parse formula"):
        featurize_compositions(["LiCl", "Li2(O"], cache=False)
    with pytest.raises(DataError, match=r"^composition 0 'nan': empty formula$"):
        featurize_compositions([float("nan")], cache=False)


def test_errors_nan_mode_keeps_going():
    frame = featurize_compositions(["LiCl", "LiXx2", "", "LiCl"], errors="nan", cache=False)
    assert list(frame.index) == [0, 1, 2, 3] and frame.columns[-1] == "error"
    assert frame["error"].tolist()[0] == "" and frame["error"].tolist()[3] == ""
    assert frame.loc[1, "error"] == "composition 1 'LiXx2': unknown element 'Xx'"
    assert frame.loc[2, "error"] == "composition 2 '': empty formula"
    features = frame.drop(columns="error")
    assert features.loc[[1, 2]].isna().all(axis=None) and features.loc[[0, 3]].notna().all(axis=None)
    pd.testing.assert_series_equal(features.loc[0], features.loc[3], check_names=False)
    only_bad = featurize_compositions(["LiXx2"], errors="nan", cache=False)
    assert only_bad.shape == (1, features.shape[1] + 1) and only_bad.drop(columns="error").isna().all(axis=None)


def test_compositions_objects_series_and_row_order():
    series = pd.Series(["Li3N", Composition("LiCl"), "Li3N", "Li2O"], index=[10, 5, 7, 3])
    frame = featurize_compositions(series, cache=False)
    assert isinstance(frame.index, pd.RangeIndex) and len(frame) == 4
    assert frame["Li fraction"].tolist() == pytest.approx([0.75, 0.5, 0.75, 2 / 3])
    assert featurize_compositions([], cache=False).shape == (0, sum(len(v) for v in BLOCK_LABELS.values()))


def test_parsed_compositions_hold_pymatgens_amounts():
    formulas = VARIED + ["Li2.O", "LiLi", "Li.5O", "H2O", "D2O", "Li0O", "LiNb", "CoO"]
    for formula in formulas:
        entry = parsed_composition(formula)
        reference = Composition(formula).get_el_amt_dict()
        assert dict(zip(entry.symbols, entry.amounts.tolist())) == reference, formula


# ----------------------------------------------------------------------------------------------------------------
# The matminer featurizer contract


def _contract_cases():
    li_cl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.13), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    return [
        (LiElectrolyteFeaturizer(), ("Li6PS5Cl",)),
        (OxidationStateFeaturizer(), ("Li6PS5Cl",)),
        (CompositeProcessFeaturizer(), ("BaTiO3", 5.0, "high-energy ball milling", "crystalline", "")),
        (LatticeFeaturizer(), (225, 5.13, 5.13, 5.13, 90, 90, 90, 8)),
        (LiSiteFeaturizer(), (li_cl,)),
    ]


@pytest.mark.parametrize("featurizer,args", _contract_cases(), ids=lambda x: type(x).__name__)
def test_featurizer_contract(featurizer, args):
    values = featurizer.featurize(*args)
    labels = featurizer.feature_labels()
    assert len(values) == len(labels) == len(set(labels))
    assert all(isinstance(v, float) for v in values)
    assert featurizer.citations() and all(isinstance(c, str) and c for c in featurizer.citations())
    assert featurizer.implementors() and all(isinstance(i, str) and i for i in featurizer.implementors())
    assert featurizer.feature_labels() == labels  # no state change
    assert featurizer.get_params() == type(featurizer)().get_params()  # __init__ only stores its arguments


def test_composition_featurizers_in_multiple_featurizer_and_dataframe():
    formulas = ["Li2.3ZrCl5.85N0.15", "Li6.4La3Zr1.4Ta0.6O12", "Li7P3S11"]
    df = pd.DataFrame({"composition": [Composition(f) for f in formulas]})
    multi = MultipleFeaturizer([LiElectrolyteFeaturizer(), OxidationStateFeaturizer()])
    multi.set_n_jobs(1)
    out = multi.featurize_dataframe(df, "composition", pbar=False)
    labels = BLOCK_LABELS["lithium"] + BLOCK_LABELS["ionic"]
    assert list(out.columns) == ["composition"] + labels
    fast = featurize_compositions(formulas, blocks=["ionic", "lithium"], cache=False)
    np.testing.assert_allclose(out[labels].to_numpy(dtype=float), fast[labels].to_numpy(), rtol=0, atol=1e-12)
    bad = pd.DataFrame({"composition": ["LiXx2", "LiCl"]})
    single = LiElectrolyteFeaturizer()
    single.set_n_jobs(1)
    handled = single.featurize_dataframe(bad, "composition", ignore_errors=True, return_errors=True, pbar=False)
    assert handled.loc[0, BLOCK_LABELS["lithium"]].isna().all() and "unknown element 'Xx'" in handled.iloc[0, -1]
    assert handled.loc[1, "Li fraction"] == 0.5


def test_process_featurizer_rules():
    featurizer = CompositeProcessFeaturizer()
    row = dict(zip(PROCESS_LABELS, featurizer.featurize("BaTiO3", "5", "high-energy ball-milled, 550 rpm", "", "")))
    assert row["additive wt%"] == 5.0 and row["has additive"] == 1.0
    # Magpie electronegativities Ba 0.89, Ti 1.54, O 3.44 (Pauling), weighted 1:1:3
    assert row["additive mean electronegativity (Pauling)"] == pytest.approx((0.89 + 1.54 + 3 * 3.44) / 5)
    assert row["route: ball milling"] == 1.0 and row["route: solid-state reaction"] == 0.0
    assert math.isnan(row["amorphous/glass"])
    control = dict(zip(PROCESS_LABELS, featurizer.featurize("BaTiO3", 0.0, "", "amorphous; thin film", "")))
    assert control["has additive"] == 0.0 and math.isnan(control["additive mean electronegativity (Pauling)"])
    assert math.isnan(control["route: wet chemistry"])  # no synthesis text
    assert control["amorphous/glass"] == 1.0 and control["thin film"] == 1.0
    unknown = featurizer.featurize(float("nan"), float("nan"), "", "", "")
    assert all(math.isnan(v) for v in unknown)
    glass = dict(zip(PROCESS_LABELS, featurizer.featurize("", "", "", "Liverpool ID 3", "Glass")))
    assert glass["amorphous/glass"] == 1.0 and glass["route: melt quench / glass"] == 1.0
    partly = featurizer.featurize("", "", "", "crystalline with increasing amorphous fraction", "")
    assert dict(zip(PROCESS_LABELS, partly))["amorphous/glass"] == 0.5


def test_lattice_featurizer():
    featurizer = LatticeFeaturizer()
    assert featurizer.featurize(225, 5.0, 5.0, 5.0, 90, 90, 90, 8) == [1.0, 225.0, 125.0, 15.625,
                                                                        5.0, 5.0, 5.0, 90.0, 90.0, 90.0]
    system, number, volume, per_atom, *constants = featurizer.featurize(164, 11.053, math.nan, 5.962)  # a, c only
    assert (system, number) == (3.0, 164.0) and math.isnan(per_atom)
    assert constants == [11.053, 11.053, 5.962, 90.0, 90.0, 120.0]  # what the crystal system fixes is filled in
    assert volume == pytest.approx(11.053 ** 2 * 5.962 * math.sqrt(3) / 2)  # hexagonal setting, V = 630.74 A^3
    triclinic = featurizer.featurize(2, 5.5071, 6.0425, 5.5231, 116.912, 120.867, 62.234)
    lattice = Lattice.from_parameters(5.5071, 6.0425, 5.5231, 116.912, 120.867, 62.234)
    assert triclinic[0] == 7.0 and triclinic[2] == pytest.approx(lattice.volume)
    assert all(math.isnan(v) for v in featurizer.featurize(math.nan, math.nan, 3, 3, math.nan, 90, 90)[:4])
    assert math.isnan(featurizer.featurize(2, 5, 5, 5)[2])  # triclinic without angles: unknown volume


# ----------------------------------------------------------------------------------------------------------------
# Structures


def rock_salt(a: float = 5.13) -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def test_li_site_features_rock_salt_licl():
    a = 5.13
    values = dict(zip(LiSiteFeaturizer().feature_labels(), LiSiteFeaturizer().featurize(rock_salt(a))))
    assert values["mean Li-anion nearest distance (A)"] == pytest.approx(a / 2)
    assert values["mean Li-Li nearest distance (A)"] == pytest.approx(a / math.sqrt(2))
    assert values["min Li-Li distance (A)"] == pytest.approx(a / math.sqrt(2))
    assert values["mean Li coordination number"] == 6.0
    assert values["mean Li site occupancy"] == 1.0


def test_li_site_features_li3n():
    a, c = 3.648, 3.875
    li3n = Structure.from_spacegroup("P6/mmm", Lattice.hexagonal(a, c), ["N", "Li", "Li"],
                                     [[0, 0, 0], [0, 0, 0.5], [1 / 3, 2 / 3, 0]])
    values = dict(zip(LiSiteFeaturizer().feature_labels(), LiSiteFeaturizer().featurize(li3n)))
    # Li(1) between N along c at c/2 (2 N); two Li(2) in the Li2N plane at a/sqrt(3) (3 N)
    assert values["mean Li-anion nearest distance (A)"] == pytest.approx((c / 2 + 2 * a / math.sqrt(3)) / 3)
    assert values["mean Li coordination number"] == pytest.approx((2 + 3 + 3) / 3)
    assert values["min Li-Li distance (A)"] == pytest.approx(a / math.sqrt(3))


def test_partially_occupied_structure_does_not_crash():
    lattice = Lattice.cubic(5.13)
    disordered = Structure(lattice, [{"Li": 0.5, "Na": 0.25}, "Cl", {"Li": 0.3}],
                           [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0]])
    values = dict(zip(STRUCTURE_LABELS, featurize_structure(disordered)))
    assert values["mean Li site occupancy"] == pytest.approx(0.4)
    assert values["min Li-Li distance (A)"] == pytest.approx(5.13 / 2)
    # Li at (0,0,0): Cl at a*sqrt(3)/2; Li at (1/2,0,0): Cl at a/sqrt(2)
    expected = (5.13 * math.sqrt(3) / 2 + 5.13 / math.sqrt(2)) / 2
    assert values["mean Li-anion nearest distance (A)"] == pytest.approx(expected)
    assert values["structure density (g/cm^3)"] > 0
    assert math.isnan(values["structure volume per atom (A^3)"])  # matminer's DensityFeatures refuses disorder
    assert values["structure space group number"] >= 1
    no_li = Structure(lattice, ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert all(math.isnan(v) for v in LiSiteFeaturizer().featurize(no_li))


# ----------------------------------------------------------------------------------------------------------------
# Cache and table


def test_cache_second_call_is_served_from_disk(tmp_path, monkeypatch):
    formulas = ["Li2.3ZrCl5.85N0.15", "Li6.4La3Zr1.4Ta0.6O12", "Li2.3ZrCl5.85N0.15"]
    first = featurize_compositions(formulas, cache_dir=tmp_path)
    path = tmp_path / f"{FEATURIZER_VERSION}.npz"
    assert path.is_file()
    with np.load(path) as data:
        assert len(data["keys"]) == 2  # one row per distinct composition

    def fail(*args, **kwargs):
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr("mlsse.features.composition.compute_features", fail)
    second = featurize_compositions(formulas, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(first, second)
    path.unlink()  # safe to delete: the next call recomputes
    monkeypatch.undo()
    pd.testing.assert_frame_equal(featurize_compositions(formulas, cache_dir=tmp_path), first)


def test_cache_follows_mlsse_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLSSE_HOME", str(tmp_path))
    featurize_compositions(["LiCl"])
    assert (tmp_path / "cache" / "features" / f"{FEATURIZER_VERSION}.npz").is_file()
    featurize_compositions(["LiCl"], blocks=["magpie"])  # a subset is never cached
    with np.load(tmp_path / "cache" / "features" / f"{FEATURIZER_VERSION}.npz") as data:
        assert data["values"].shape == (1, sum(len(v) for v in BLOCK_LABELS.values()))


def test_featurize_table_order_and_missing_structures(tmp_path):
    from pymatgen.io.cif import CifWriter

    cif = tmp_path / "LiCl.cif"
    CifWriter(rock_salt()).write_file(cif)
    frame = pd.DataFrame({
        "composition": ["Li3N", "LiCl", "Li2O", "LiCl"],
        "space_group_number": [191, 225, np.nan, 225],
        "a": [3.648, np.nan, np.nan, 5.13], "b": [3.648, np.nan, np.nan, 5.13], "c": [3.875, np.nan, np.nan, 5.13],
        "alpha": [90, np.nan, np.nan, 90], "beta": [90, np.nan, np.nan, 90], "gamma": [120, np.nan, np.nan, 90],
        "cif": ["", str(cif), str(tmp_path / "missing.cif"), np.nan],
        "synthesis": ["", "solid-state reaction", "", ""],
    }, index=[9, 3, 1, 0])
    table = featurize_table(frame, cache_dir=tmp_path / "cache")
    assert isinstance(table.index, pd.RangeIndex) and len(table) == 4
    assert table["Li fraction"].tolist() == pytest.approx([0.75, 0.5, 2 / 3, 0.5])
    assert all(label in table.columns for label in STRUCTURE_LABELS + LATTICE_LABELS + PROCESS_LABELS)
    structure = table[STRUCTURE_LABELS]
    assert structure.loc[0].isna().all() and structure.loc[2].isna().all() and structure.loc[3].isna().all()
    assert structure.loc[1, "mean Li-anion nearest distance (A)"] == pytest.approx(5.13 / 2)
    assert table.loc[1, "cell volume (A^3)"] == pytest.approx(5.13 ** 3, rel=1e-6)  # lattice taken from the CIF
    assert table.loc[1, "volume per atom (A^3)"] == pytest.approx(5.13 ** 3 / 8, rel=1e-6)
    assert table.loc[0, "cell volume (A^3)"] == pytest.approx(3.648 ** 2 * 3.875 * math.sqrt(3) / 2)
    assert table.loc[1, "route: solid-state reaction"] == 1.0 and math.isnan(table.loc[0, "route: ball milling"])
    assert (tmp_path / "cache" / f"{FEATURIZER_VERSION}-structure.npz").is_file()
    again = featurize_table(frame, cache_dir=tmp_path / "cache")
    pd.testing.assert_frame_equal(table, again)
    plain = featurize_table(frame, structures=False, cache_dir=tmp_path / "cache")
    assert not set(STRUCTURE_LABELS) & set(plain.columns) and len(plain) == 4
    assert math.isnan(plain.loc[1, "cell volume (A^3)"])  # no CIF read, no lattice in the table


def test_element_fraction_block_equals_matminer_and_reads_as_content():
    from matminer.featurizers.composition import ElementFraction

    from mlsse.features.names import feature_group, readable_name

    formulas = ["Li2.3ZrCl5.85N0.15", "Li6PS5Cl", "Li7La3Zr2O12", "Li3N"]
    ours = featurize_compositions(formulas, blocks=["element_fraction"], cache=False)
    featurizer = ElementFraction()
    theirs = np.array([featurizer.featurize(Composition(f)) for f in formulas])
    assert list(ours.columns) == featurizer.feature_labels()
    np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=0, atol=1e-12)
    assert (readable_name("Zr"), feature_group("Zr")) == ("Zr content", "Zr content")
    # the forest's amounts keep their own name but are summed with the fractions into the element's SHAP group
    assert readable_name("Zr atoms per formula unit") == "Zr atoms per formula unit"
    assert feature_group("Zr atoms per formula unit") == "Zr content"
    assert readable_name("Li fraction") == "Li fraction"


def test_an_unreadable_feature_cache_is_set_aside_and_rebuilt(tmp_path):
    import warnings

    import numpy as np

    from mlsse.errors import MlsseWarning
    from mlsse.features.cache import FeatureCache

    cache = FeatureCache(tmp_path, version="v-test")
    cache.add({"Li3N": np.array([1.0, 2.0])}, ["a", "b"])
    assert cache.lookup(["Li3N"], ["a", "b"])["Li3N"].tolist() == [1.0, 2.0]
    with open(cache.path, "r+b") as handle:  # what a crash or a full disk leaves
        handle.truncate(100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cache.lookup(["Li3N"], ["a", "b"]) == {}
    assert any(issubclass(w.category, MlsseWarning) and "set aside" in str(w.message) for w in caught)
    assert (tmp_path / "v-test.npz.unreadable").exists()
    cache.add({"Li3N": np.array([1.0, 2.0])}, ["a", "b"])
    assert cache.lookup(["Li3N"], ["a", "b"])["Li3N"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("written, meant", [
    ("75Li2S-25P2S5", "(Li2S)0.75(P2S5)0.25"),  # glass notation, mol %
    ("0.75Li2S·0.25P2S5", "(Li2S)0.75(P2S5)0.25"),
    ("Li₃YCl₆", "Li3YCl6"),  # Unicode subscripts
    ("LiCl·2H2O", "LiCl(H2O)2"),  # a hydrate with its middle dot
    ("77.5Li2S·22.5P2S5", "(Li2S)0.775(P2S5)0.225"),  # mol % with a middle dot: the glass's formula unit
    ("99.999Li2S-0.001P2S5", "(Li2S)0.99999(P2S5)0.00001"),  # no exponent in the amounts pymatgen reads
])
def test_formulas_as_chemists_write_them_parse_to_the_composition_meant(written, meant):
    from pymatgen.core import Composition

    from mlsse.chemistry import parse_composition

    assert parse_composition(written).almost_equals(Composition(meant))


@pytest.mark.parametrize("written, hint", [("li3ycl6", "Li3YCl6"), ("LI3YCL6", "Li3YCl6")])
def test_a_formula_in_one_case_gets_a_did_you_mean(written, hint):
    from mlsse.chemistry import parse_composition

    with pytest.raises(ValueError, match=rf"did you mean {hint}\?$"):
        parse_composition(written)


def test_one_composition_is_one_formula_unit_however_a_mixture_is_written():
    from mlsse.chemistry import mixture_formula

    assert mixture_formula("77.5Li2S·22.5P2S5") == mixture_formula("77.5Li2S-22.5P2S5") == "(Li2S)0.775(P2S5)0.225"
