"""Compositions: parsing formulas into pymatgen ``Composition`` objects, writing them back, comparing them up to
scaling, and their oxidation states and charge balance; shared by every layer.

Layer: imports nothing from mlsse but ``mlsse.errors``, so every layer may use it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from pymatgen.core import Composition, Element

#: Charge balance is searched on the smallest integer multiple of a fractional formula: amounts are rounded to
#: fractions with denominators up to this (relative tolerance 2e-3, so 0.3333 counts as 1/3) ...
DEFAULT_MAX_DENOMINATOR = 1000
#: ... and skipped (NaN) when that multiple has more atoms than this.
DEFAULT_MAX_SITES = 5000


@lru_cache(maxsize=1)
def common_oxidation_states() -> dict[str, tuple[int, ...]]:
    """Return the oxidation states matminer's ``IonProperty`` balances charge with, per element.

    Returns
    -------
    dict of str to tuple of int
        Element symbol (Z = 1…118) → pymatgen's ``common_oxidation_states``, or its ``icsd_oxidation_states``
        where that list is empty.
    """
    from pymatgen.core import Element

    return {el.symbol: tuple(el.common_oxidation_states or el.icsd_oxidation_states or ())
            for el in (Element.from_Z(z) for z in range(1, 119))}


def integer_amounts(amounts: tuple[float, ...], max_denominator: int = DEFAULT_MAX_DENOMINATOR) -> list[int] | None:
    """Return the amounts of a formula as integers, scaling a fractional formula to its smallest integer multiple.

    Parameters
    ----------
    amounts : tuple of float
        Element amounts, atoms per formula unit.
    max_denominator : int, default DEFAULT_MAX_DENOMINATOR
        Largest denominator a fractional amount is rounded to.

    Returns
    -------
    list of int or None
        The amounts unchanged if already integers (pymatgen's 1e-8 tolerance), else the smallest integer
        multiple after rounding each to a fraction with denominator ≤ ``max_denominator``; None if an amount is
        not close (relative 2e-3) to such a fraction.
    """
    if all(abs(a - round(a)) < 1e-8 for a in amounts):
        return [int(round(a)) for a in amounts]
    fractions = []
    for a in amounts:
        f = Fraction(a).limit_denominator(max_denominator)
        if f <= 0 or abs(float(f) - a) > 2e-3 * a:
            return None
        fractions.append(f)
    lcm = 1
    for f in fractions:
        lcm = lcm * f.denominator // math.gcd(lcm, f.denominator)
    return [int(f * lcm) for f in fractions]


@lru_cache(maxsize=1)
def observed_oxidation_states() -> dict[str, tuple[int, ...]]:
    """Return the oxidation states seen in ICSD structures, per element.

    Mn³⁺, Cr²⁺ and Bi⁵⁺ are among them, Cl⁺ is not.

    Returns
    -------
    dict of str to tuple of int
        Element symbol (Z = 1…118) → pymatgen's ``icsd_oxidation_states``, or its ``common_oxidation_states``
        where ICSD has none.
    """
    from pymatgen.core import Element

    return {el.symbol: tuple(el.icsd_oxidation_states or el.common_oxidation_states or ())
            for el in (Element.from_Z(z) for z in range(1, 119))}


def _reachable_charges(symbols: tuple[str, ...], ints: list[int], states_of: dict) -> tuple[int, int]:
    """Return ``(reachable, offset)``: bit i of the Python integer ``reachable`` is set when a total charge of
    ``offset + i`` can be reached with each of the ``ints`` atoms of each element taking one of its states in
    ``states_of`` (``reachable`` is 0 when an element has none)."""
    reachable, offset = 1, 0
    for symbol, n in zip(symbols, ints):
        states = states_of.get(symbol, ())
        if not states:
            return 0, 0
        low = min(states)
        shifts = sorted({s - low for s in states})
        offset += n * low
        for _ in range(n):
            step = 0
            for shift in shifts:
                step |= reachable << shift
            reachable = step
    return reachable, offset


@lru_cache(maxsize=65536)
def charge_balance(symbols: tuple[str, ...], amounts: tuple[float, ...], max_sites: int = DEFAULT_MAX_SITES,
                   max_denominator: int = DEFAULT_MAX_DENOMINATOR) -> tuple[float, float]:
    """Return whether a composition can be charge balanced, as matminer's ``IonProperty`` features say it.

    The search runs on the smallest integer multiple of the formula (:func:`integer_amounts`). The reachable
    total charges are kept as bits of a Python integer, shifted by each state per site: exact, and linear in the
    number of sites times states.

    Parameters
    ----------
    symbols : tuple of str
        Element symbols.
    amounts : tuple of float
        Their amounts, atoms per formula unit.
    max_sites : int, default DEFAULT_MAX_SITES
        The search is skipped when the integer multiple has more atoms than this.
    max_denominator : int, default DEFAULT_MAX_DENOMINATOR
        Largest denominator a fractional amount is rounded to.

    Returns
    -------
    compound_possible : float
        1.0 if every atom can take one of its element's :func:`common_oxidation_states` so that the charges sum
        to zero, 0.0 if not, NaN if the search was not made (an amount not near such a fraction, or too many
        atoms); a single element gives 1.0, as in matminer.
    oxidation_states_guessed : float
        1.0 only if a charge-balanced assignment was found, else 0.0.
    """
    ints = integer_amounts(amounts, max_denominator)
    if ints is None or sum(ints) > max_sites:
        found = math.nan
    else:
        reachable, offset = _reachable_charges(symbols, ints, common_oxidation_states())
        found = float(offset <= 0 and reachable != 0 and (reachable >> -offset) & 1 == 1)
    guessed = 0.0 if math.isnan(found) else found
    possible = 1.0 if len(symbols) == 1 else found  # matminer: a single element is always "possible"
    return possible, guessed


def charge_imbalance_per_atom(symbols: tuple[str, ...], amounts: tuple[float, ...],
                              max_sites: int = DEFAULT_MAX_SITES,
                              max_denominator: int = DEFAULT_MAX_DENOMINATOR) -> float:
    """Return the smallest |net charge| per atom a composition can have with its elements' observed oxidation states.

    Each atom takes one of its element's :func:`observed_oxidation_states`.

    Parameters
    ----------
    symbols : tuple of str
        Element symbols.
    amounts : tuple of float
        Their amounts, atoms per formula unit.
    max_sites, max_denominator : int
        Limits of the search, as in :func:`charge_balance`.

    Returns
    -------
    float
        Smallest |net charge| per atom, e: 0 for a charge-balanced composition, 1.0 for ``Li3YCl`` (+5 over 5
        atoms); NaN when it cannot be searched (as :func:`charge_balance`) or an element has no known state.
    """
    ints = integer_amounts(amounts, max_denominator)
    if ints is None or sum(ints) > max_sites:
        return math.nan
    reachable, offset = _reachable_charges(symbols, ints, observed_oxidation_states())
    if reachable == 0:
        return math.nan
    zero = -offset  # the bit of a total charge of 0
    distances = []
    if zero >= 0 and reachable >> zero:
        above = reachable >> zero
        distances.append((above & -above).bit_length() - 1)
    below = reachable & ((1 << zero) - 1) if zero > 0 else 0
    if below:
        distances.append(zero - (below.bit_length() - 1))
    if zero < 0:  # every reachable total is positive
        distances.append(-zero)
    return min(distances) / sum(ints)


#: A formula whose charge cannot come closer to neutral than this (e per atom) with observed oxidation states is
#: taken for a typo (Li3YCl: 1.0; Li3YCl5: 0.11) rather than a nominal composition rounded as papers print them
#: (Li0.33La0.5TiO3: 0.035, Li6.06La3Zr2Al0.2O12: 0.015).
MAX_CHARGE_IMBALANCE_PER_ATOM = 0.05


def charge_balance_problem(composition) -> str | None:
    """Return why a composition cannot be a compound, as a charge-balance check sees it.

    Parameters
    ----------
    composition : pymatgen.core.Composition
        The composition to check.

    Returns
    -------
    str or None
        Why it cannot be a compound: its net charge stays above :data:`MAX_CHARGE_IMBALANCE_PER_ATOM` e per
        atom with the :func:`observed_oxidation_states` of its elements (e.g. ``Li3YCl``). None when it can be
        balanced, or when that cannot be told.
    """
    amounts = composition.get_el_amt_dict()
    symbols = tuple(sorted(amounts))
    imbalance = charge_imbalance_per_atom(symbols, tuple(float(amounts[s]) for s in symbols))
    if not imbalance > MAX_CHARGE_IMBALANCE_PER_ATOM:
        return None
    states = observed_oxidation_states()
    listed = ", ".join(f"{el.symbol} {'/'.join(f'{q:+d}' for q in states.get(el.symbol, ())) or 'none'}"
                       for el in composition.element_composition)
    return (f"not charge balanced (with the oxidation states known for its elements, {listed}, its net charge is "
            f"at least {imbalance:.2g} e per atom)")


def parse_composition(formula: str | Composition) -> Composition:
    """Return the pymatgen ``Composition`` of ``formula``, refusing what pymatgen would accept silently.

    pymatgen turns an unknown symbol such as ``Xx`` into a dummy species; here that is an error.

    Parameters
    ----------
    formula : str or pymatgen.core.Composition
        A formula (quotes and white space between groups are stripped, :func:`clean_formula_text`) or a
        composition to check.

    Returns
    -------
    pymatgen.core.Composition
        The parsed composition (``formula`` itself if it is one).

    Raises
    ------
    ValueError
        With a message naming the problem: empty or unparsable formula, unknown element, no atoms, negative
        amount.
    """
    if isinstance(formula, Composition):
        comp = formula
    else:
        text = clean_formula_text(formula)
        if not text:
            raise ValueError("empty formula")
        try:
            comp = Composition(text)
        except Exception as exc:  # pymatgen raises ValueError, KeyError, ... for bad formulas
            raise ValueError(f"cannot parse formula {str(formula)!r}: {exc}") from None
    unknown = [str(sp) for sp in comp.elements if not isinstance(sp, Element)]
    if unknown:
        symbols = ", ".join(repr(u.rstrip("0+-:")) for u in unknown)
        raise ValueError(f"unknown element {symbols} in {str(formula)!r}")
    if comp.num_atoms <= 0 or any(amount < 0 for amount in comp.values()):
        raise ValueError(f"formula {str(formula)!r} has no atoms or a negative amount")
    return comp


def normalise_formula(formula: str | Composition) -> str:
    """Return a compact, pymatgen-parsable formula in pymatgen's element order, without explicit 1s.

    Parameters
    ----------
    formula : str or pymatgen.core.Composition
        The formula to normalise.

    Returns
    -------
    str
        E.g. ``Li2.3ZrCl5.85N0.15``; amounts are kept as given (not reduced).

    Raises
    ------
    ValueError
        As :func:`parse_composition`: pymatgen cannot parse it, it names an unknown element, or it holds no
        atoms.
    """
    return formula_text(parse_composition(formula), pymatgen_order=True)


def clean_formula_text(text: str) -> str:
    """Strip what sources wrap formulas in (quotes, white space between groups) so pymatgen can parse them.

    Parameters
    ----------
    text : str
        A formula as a source prints it.

    Returns
    -------
    str
        The formula without white space and surrounding quotes:
        ``'"(Li2S)0.5 ((P2S5)0.4 (Sb2S3)0.6)0.5"'`` → ``(Li2S)0.5((P2S5)0.4(Sb2S3)0.6)0.5``.
    """
    return "".join(str(text).split()).strip("\"'")


def composition_key(formula: str, decimals: int = 4) -> str:
    """Return a key equal for formulas of the same composition up to scaling (FeO == Fe2O2 == Fe0.5O0.5).

    Parameters
    ----------
    formula : str
        A pymatgen-parsable formula.
    decimals : int, default 4
        Decimals the atomic fractions are written with.

    Returns
    -------
    str
        Element symbols in alphabetical order, each followed by its atomic fraction (``"Fe0.5000 O0.5000"``).
    """
    frac = Composition(formula).fractional_composition
    return " ".join(f"{el.symbol}{amt:.{decimals}f}" for el, amt in sorted(frac.items(), key=lambda kv: kv[0].symbol))


def formula_text(composition, pymatgen_order: bool = False) -> str:
    """Return a pymatgen ``Composition`` as a compact formula with its amounts as given and no explicit 1s.

    Parameters
    ----------
    composition : pymatgen.core.Composition
        The composition; species (``Li+``) are written as their elements.
    pymatgen_order : bool, default False
        Order the elements as ``Composition.formula`` does (by electronegativity) instead of in the
        composition's own order.

    Returns
    -------
    str
        E.g. ``Li2.3ZrCl5.85N0.15``, ``Li3InCl6``.
    """
    from pymatgen.util.string import formula_double_format

    elements = composition.element_composition
    items = ([(el, elements[el]) for el in sorted(elements, key=lambda el: (el.X, el.symbol))]
             if pymatgen_order else elements.items())
    return "".join(f"{element}{formula_double_format(amount)}" for element, amount in items)
