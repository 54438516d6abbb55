"""Charge-balanced doped compositions for the seed papers' schemes, and refused impossible requests."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition

from mlsse.doping.scanning import candidate_table, parse_levels
from mlsse.doping.substitution import DopingError, dope, host_oxidation_states


@pytest.mark.parametrize("x", [0.0, 0.05, 0.1, 0.15, 0.2, 0.25])
def test_nitrogen_on_chlorine_gives_the_lzc_nx_series(x):
    expected = Composition({"Li": 2 + 2 * x, "Zr": 1, "Cl": 6 - x, "N": x})
    assert dope("Li2ZrCl6", "Cl", "N", x).almost_equals(expected, rtol=0, atol=1e-9)


def test_lzc_n015_is_exactly_li23zrcl585n015():
    doped = dope("Li2ZrCl6", "Cl", "N", 0.15)
    assert doped.almost_equals(Composition("Li2.3ZrCl5.85N0.15"), rtol=0, atol=1e-12)
    assert abs(sum(q * doped[el] for el, q in {"Li": 1, "Zr": 4, "Cl": -1, "N": -3}.items())) < 1e-12


def test_trivalent_cation_on_zirconium_adds_lithium():
    assert dope("Li2ZrCl6", "Zr", "Y", 0.5).almost_equals(Composition("Li2.5Y0.5Zr0.5Cl6"), rtol=0, atol=1e-12)
    assert dope("Li2ZrCl6", "Zr", "In3+", 0.3).almost_equals(Composition("Li2.3Zr0.7In0.3Cl6"), rtol=0, atol=1e-12)


def test_isovalent_and_supervalent_substitutions():
    assert dope("Li2ZrCl6", "Zr", "Hf", 0.4).almost_equals(Composition("Li2Zr0.6Hf0.4Cl6"), rtol=0, atol=1e-12)
    assert dope("Li2ZrCl6", "Cl", "Br", 1).almost_equals(Composition("Li2ZrCl5Br"), rtol=0, atol=1e-12)
    llzo = dope("Li7La3Zr2O12", "Zr", "Ta", 0.6)
    assert llzo.almost_equals(Composition("Li6.4La3Zr1.4Ta0.6O12"), rtol=0, atol=1e-12)


def test_vacancy_compensation():
    # In3+ on Zr4+ leaves the formula 0.2 e too negative: 0.2 Cl- vacancies
    assert dope("Li2ZrCl6", "Zr", "In", 0.2, "vacancy").almost_equals(Composition("Li2Zr0.8In0.2Cl5.8"), rtol=0,
                                                                       atol=1e-12)
    # Ta5+ on Zr4+ leaves it 0.6 e too positive: 0.15 extra Zr4+ vacancies
    assert dope("Li7La3Zr2O12", "Zr", "Ta", 0.6, "vacancy").almost_equals(
        Composition("Li7La3Zr1.25Ta0.6O12"), rtol=0, atol=1e-12)


@pytest.mark.parametrize("args, message", [
    (("Li2ZrCl6", "Br", "N", 0.1), "site Br is not in host Li2ZrCl6"),
    (("Li2ZrCl6", "Zr", "Y", 1.5), "level 1.5 exceeds the 1 Zr per formula unit of Li2ZrCl6"),
    (("Li2ZrCl6", "Cl", "Y", 0.1), "dopant Y is a cation, not an anion: it does not go on an anion site"),
    (("Li2ZrCl6", "Zr", "Xx", 0.1), "unknown dopant 'Xx'"),
    (("Li2ZrCl6", "Zr", "N3-", 0.1), "N3- (-3) cannot sit on the Zr site (+4)"),
    (("LiCl", "Li", "Mg", 0.6), "charge balance would need 0.6 Li removed from LiCl: not enough Li"),
    (("Li2ZrCl6", "Zr", "Y5+", 0.1), "Y has no +5 oxidation state (it has +1, +2, +3)"),
    (("Li2ZrCl6", "Zr", "Cl", 0.1), "Cl is an anion of Li2ZrCl6; it cannot also sit on the Zr site"),
    (("Li2ZrCl6", "Zr", "Zr", 0.1), "Zr on the Zr site is the host itself"),
    (("Li3PS4", "P", "Br", 0.1), "Br (electronegativity 2.96) cannot be a cation beside the anions of Li3PS4; is "
                                 "--site right?"),
    (("Li3YCl6", "Y", "Br", 0.1), "Br on the cation site Y of Li3YCl6, beside its anions of the same group, would be "
                                  "Br5+: is --site right? (give Br5+ to mean it)"),
    (("Li3PS4", "P", "Se", 0.1), "Se on the cation site P of Li3PS4, beside its anions of the same group, would be "
                                 "Se6+: is --site right? (give Se6+ to mean it)"),
])
def test_impossible_requests_are_refused_with_a_clear_message(args, message):
    with pytest.raises(DopingError) as info:
        dope(*args)
    assert str(info.value) == message


@pytest.mark.parametrize("host, site, dopant, expected", [
    ("Li6PS5Cl", "P", "Ge", "Li6.25Ge0.25P0.75S5Cl"),     # Ge4+ (not Ge2+) on P5+
    ("Li6PS5Cl", "P", "Sb", "Li6Sb0.25P0.75S5Cl"),        # Sb5+: isovalent
    ("Li10GeP2S12", "Ge", "Sn", "Li10Sn0.25Ge0.75P2S12"),  # Sn4+
    ("Li4SiO4", "Si", "P", "Li3.75Si0.75P0.25O4"),         # P5+
    ("Li7La3Zr2O12", "Zr", "Te", "Li6.5La3Zr1.75Te0.25O12"),  # Te6+, as in the papers
    ("Li7La3Zr2O12", "Li", "Fe", "Li6.25La3Zr2Fe0.25O12"),    # Fe3+ on Li+
    ("Li7La3Zr2O12", "Li", "Ga", "Li6.25La3Zr2Ga0.25O12"),
    ("Li2ZrCl6", "Cl", "N", "Li2.5ZrCl5.75N0.25"),            # an anion site: N3-
    ("Li6PS5Cl", "S", "Se", "Li6PS4.75Se0.25Cl"),
    ("Li1.3Al0.3Ti1.7P3O12", "Ti", "Cr3+", "Li1.55Al0.3Ti1.45Cr0.25P3O12"),  # the other state, given explicitly
])
def test_an_element_dopant_takes_its_highest_common_state_on_a_cation_site(host, site, dopant, expected):
    assert dope(host, site, dopant, 0.25).almost_equals(Composition(expected), rtol=0, atol=1e-12)


def test_host_without_charge_balance_is_refused():
    with pytest.raises(DopingError, match="no charge-balanced oxidation states"):
        host_oxidation_states(Composition("Li3Cl"))


def test_levels_and_candidates():
    assert parse_levels("0:0.3:0.05") == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    assert parse_levels("0.1,0.2") == [0.1, 0.2]
    with pytest.raises(DopingError, match="cannot read levels"):
        parse_levels("0:a:1")
    table = candidate_table("Li2.5Y0.5Zr0.5Cl6", "Cl", ["F"], [], additive="BaTiO3", wt_pcts=[0, 5, 10])
    assert table["additive_wt_pct"].tolist() == [0, 5, 10]
    assert (table["composition"] == "Li2.5Y0.5Zr0.5Cl6").all()
    for spec in ("nan", "0.1,nan", "", "0:inf:0.1"):
        with pytest.raises(DopingError, match="cannot read levels"):
            parse_levels(spec)


@pytest.mark.parametrize("spec, message", [
    ("0:1:0", "levels '0:1:0': the step is 0; give a step > 0"),
    ("0:1:-0.1", "levels '0:1:-0.1': the step is -0.1; give a step > 0"),
    ("1:0:0.1", "levels '1:0:0.1': the range runs backwards (1 to 0); give start ≤ stop"),
    ("0:1:1e-9", "levels '0:1:1e-9': 1,000,000,000 values, more than 10,000; give a larger step"),
])
def test_a_zero_step_a_reversed_range_or_a_huge_count_is_said_plainly(spec, message):
    with pytest.raises(DopingError) as caught:
        parse_levels(spec)
    assert str(caught.value) == message


def test_a_scan_or_screen_too_large_is_refused_before_anything_is_built(tmp_path):
    from mlsse.doping.scanning import scan
    from mlsse.doping.screening import screen
    from mlsse.doping.space import build_spec

    with pytest.raises(DopingError, match=r"^30,000 candidates \(3 dopants × 1000 levels × 10 wt%\), more than"):
        scan("Li2ZrCl6", "Zr", ["Y", "In", "Sc"], [i / 1000 for i in range(1000)], additive="BaTiO3",
             wt_pcts=list(range(10)), model=tmp_path / "no-model-needed")
    spec = build_spec({"Li3YCl6": {"Y": ["Sc", "In"]}}, "0.001:0.5:0.001", ["li"])
    with pytest.raises(DopingError, match=r"^1,000 candidates, more than --max-candidates 999"):
        screen(spec, tmp_path / "s.parquet", tmp_path / "no-model-needed", max_candidates=999)
    assert list(tmp_path.iterdir()) == []


def test_candidate_requests_are_checked_before_anything_is_predicted():
    # a comma string is a list of dopants (not its letters); each row names the species used
    from mlsse.errors import MlsseWarning

    with pytest.warns(MlsseWarning, match="also common as"):  # Ge2+, Sb3+
        table = candidate_table("Li6PS5Cl", "P", "Ge, Sb", [0.1])
    assert table["dopant_species"].unique().tolist() == ["Ge4+", "Sb5+"]
    for args, kwargs, message in [
        (("Li2ZrCl6", "Zr", "Y,Y3+", [0.1]), {}, r"dopants 'Y' and 'Y3\+' are the same species \(Y3\+\)"),
        (("Li2ZrCl6", "Zr", " , ", [0.1]), {}, "no dopant given"),
        (("Li2ZrCl6", "Zr", ["Y"], [float("nan")]), {}, "levels must be finite numbers"),
        (("Li2ZrCl6", "Zr", ["Y"], [0.1]), {"additive": "BaTiO3"}, "an additive needs its wt% values"),
        (("Li2ZrCl6", "Zr", ["Y"], [0.1]), {"wt_pcts": [5]}, "an additive needs its wt% values"),
        (("Li2ZrCl6", "Zr", ["Y"], [0.1]), {"additive": "BaTiO3", "wt_pcts": [-10, 150]}, r"additive wt% -10 outside \[0, 100\)"),
    ]:
        with pytest.raises(DopingError, match=message):
            candidate_table(*args, **kwargs)


def test_a_dopant_with_several_common_states_is_named_with_the_one_used():
    from mlsse.errors import MlsseWarning

    with pytest.warns(MlsseWarning, match=r"Cr on the Ti site taken as Cr6\+; it is also common as Cr3\+: give e.g. "
                                          r"Cr3\+ for that"):
        table = candidate_table("Li1.3Al0.3Ti1.7P3O12", "Ti", ["Cr"], [0.1])
    assert table["dopant_species"].unique().tolist() == ["Cr6+"]


def test_the_package_scan_stays_the_function():
    import mlsse.doping as doping

    doping.scan  # the submodule of the same name used to replace the function after the first use
    assert callable(doping.scan)
    from mlsse.doping import scan

    assert callable(scan)
