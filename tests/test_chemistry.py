"""The chemistry rules every layer shares: one check of a formula, one rule of plausible oxidation states."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pymatgen.core import Composition, Species

from mlsse.chemistry import parse_composition, plausible_oxidation_states
from mlsse.doping.substitution import DopingError, host_oxidation_states
from mlsse.errors import DataError
from mlsse.features import featurize_compositions

# ----------------------------------------------------------------------------------------------------------------
# Oxidation states: the doping hosts' rule and the Laskowski readings' rule were one rule written twice
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("formula, states", [
    # hosts that are doped (mlsse.doping.substitution)
    ("Li3YCl6", {"Li": 1, "Y": 3, "Cl": -1}),
    ("Li6PS5Cl", {"Li": 1, "P": 5, "S": -2, "Cl": -1}),
    ("Li7La3Zr2O12", {"Li": 1, "La": 3, "Zr": 4, "O": -2}),
    ("Li2FeCl4", {"Li": 1, "Fe": 2, "Cl": -1}),       # Fe's most common state that balances
    ("Li3OCl", {"Li": 1, "O": -2, "Cl": -1}),
    ("Li1.3Al0.3Ti1.7(PO4)3", {"Li": 1, "Al": 3, "Ti": 4, "P": 5, "O": -2}),  # fractional amounts
    # readings of the Laskowski table (mlsse.data.laskowski), scaled to integers there
    ("Li4SrN2", {"Li": 1, "Sr": 2, "N": -3}),
    ("SiS2", {"Si": 4, "S": -2}),
    ("Li7Si1P1S8", {"Li": 1, "Si": 4, "P": 5, "S": -2}),
])
def test_plausible_oxidation_states_of_hosts_and_table_readings(formula, states):
    found = plausible_oxidation_states(Composition(formula))
    assert found == states
    assert list(found) == list(Composition(formula).get_el_amt_dict())  # in the composition's order
    assert host_oxidation_states(Composition(formula)) == {el: float(q) for el, q in states.items()}


@pytest.mark.parametrize("formula", [
    "Li2SrN4",           # pymatgen balances it with N at -3, -3, -3, +5: no single state per element does
    "SiS",               # only as Si4- S4+: the anion would be the less electronegative element
    "Li0.33La0.56TiO3",  # a nominal composition that does not balance (6.01 against 6)
    "C",                 # carbon at 0 is neutral, but no anion: not a compound
    "LiAl",              # an alloy
])
def test_no_plausible_oxidation_states_for_either_caller(formula):
    assert plausible_oxidation_states(Composition(formula)) is None
    with pytest.raises(DopingError, match="no charge-balanced oxidation states"):
        host_oxidation_states(Composition(formula))


# ----------------------------------------------------------------------------------------------------------------
# Formulas: the queries' check and the feature table's check were two checks
# ----------------------------------------------------------------------------------------------------------------


def test_queries_read_formulas_as_chemists_write_them_and_name_them_in_messages():
    assert parse_composition("75Li2S-25P2S5").almost_equals(Composition("(Li2S)0.75(P2S5)0.25"))
    assert parse_composition("Li₃YCl₆").almost_equals(Composition("Li3YCl6"))
    with pytest.raises(ValueError, match=r"^a '\.' in 'Li\.5O' that is no decimal point"):
        parse_composition("Li.5O")
    with pytest.raises(ValueError, match=r"^unknown element 'Xx' in 'LiXx2'$"):
        parse_composition("LiXx2")
    with pytest.raises(ValueError, match=r"^cannot parse formula 'li3ycl6': .*; did you mean Li3YCl6\?$"):
        parse_composition("li3ycl6")


def test_the_feature_table_reads_formulas_as_pymatgen_does_and_leaves_naming_them_to_its_caller():
    plain = dict(chemists_notation=False, name_formula=False)
    assert parse_composition("Li.5O", **plain).get_el_amt_dict() == Composition("Li.5O").get_el_amt_dict()
    with pytest.raises(ValueError, match=r"^unknown element 'Xx'$"):
        parse_composition("LiXx2", **plain)
    with pytest.raises(ValueError, match=r"^cannot parse formula: "):
        parse_composition("Li2(O", **plain)
    with pytest.raises(DataError, match=r"^composition 1 'LiXx2': unknown element 'Xx'$"):
        featurize_compositions(["LiCl", "LiXx2"], cache=False)


@pytest.mark.parametrize("mode", [{}, {"chemists_notation": False, "name_formula": False}])
def test_both_readings_refuse_the_same_formulas(mode):
    for empty in ("", "  ", None, math.nan, pd.NA):
        with pytest.raises(ValueError, match="^empty formula$"):
            parse_composition(empty, **mode)
    for formula in ("Li100000Cl", "Li1e400Cl"):  # an amount that is not a number up to 1e4
        with pytest.raises(ValueError, match="has an amount that is not a number up to 10000"):
            parse_composition(formula, **mode)
    with pytest.raises(ValueError, match="unknown element 'Xx'"):
        parse_composition(Composition("LiXx2"), **mode)
    species = Composition({Species("Li", 1): 1, Species("Cl", -1): 1})  # oxidation states are known elements
    assert parse_composition(species, **mode) is species
