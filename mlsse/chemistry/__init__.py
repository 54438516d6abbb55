"""Chemistry shared by every layer: formulas (:mod:`~mlsse.chemistry.formulas`: parsing them into pymatgen
``Composition`` objects, writing them back, comparing them up to scaling) and oxidation states
(:mod:`~mlsse.chemistry.charge`: charge balance as matminer's features search it and as a chemist reads a formula).

Layer: imports nothing from mlsse, so every layer may use it.
"""

from mlsse.chemistry.charge import (
    DEFAULT_MAX_DENOMINATOR,
    DEFAULT_MAX_SITES,
    MAX_CHARGE_IMBALANCE_PER_ATOM,
    charge_balance,
    charge_balance_arrays,
    charge_balance_problem,
    charge_imbalance_per_atom,
    common_oxidation_states,
    integer_amounts,
    observed_oxidation_states,
    plausible_oxidation_states,
    reachable_charges,
)
from mlsse.chemistry.formulas import (
    ECHO_CHARACTERS,
    MAX_AMOUNT,
    clean_formula_text,
    composition_key,
    echo,
    formula_text,
    mixture_formula,
    normalize_formula,
    parse_composition,
)

__all__ = ["DEFAULT_MAX_DENOMINATOR", "DEFAULT_MAX_SITES", "ECHO_CHARACTERS", "MAX_AMOUNT",
           "MAX_CHARGE_IMBALANCE_PER_ATOM", "charge_balance", "charge_balance_arrays", "charge_balance_problem",
           "charge_imbalance_per_atom", "clean_formula_text", "common_oxidation_states", "composition_key", "echo",
           "formula_text", "integer_amounts", "mixture_formula", "normalize_formula", "observed_oxidation_states",
           "parse_composition", "plausible_oxidation_states", "reachable_charges"]
