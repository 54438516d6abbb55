"""Oxidation states and charge balance: which states an element takes, whether a composition can be neutral
(as matminer's ``IonProperty`` features search it, and as a chemist reads a formula), and how far from neutral
it stays."""

from __future__ import annotations

import itertools
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


def reachable_charges(symbols: tuple[str, ...], ints: list[int], states_of: dict) -> tuple[int, int]:
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

    One composition through :func:`charge_balance_arrays`, which says how the search is made.

    Parameters
    ----------
    symbols : tuple of str
        Element symbols.
    amounts : tuple of float
        Their amounts, atoms per formula unit.
    max_sites : int, default DEFAULT_MAX_SITES
        The search is skipped when the smallest integer multiple of the formula has more atoms than this.
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
    import numpy as np

    z = np.array([[Element(s).Z for s in symbols]], dtype=np.intp)
    possible, guessed = charge_balance_arrays(z, np.array([amounts], dtype=float), max_sites, max_denominator)
    return float(possible[0]), float(guessed[0])


def charge_balance_arrays(Z, W, max_sites: int = DEFAULT_MAX_SITES, max_denominator: int = DEFAULT_MAX_DENOMINATOR):
    """Return :func:`charge_balance` for many compositions of the same number of elements at once.

    The search runs on the smallest integer multiple of each formula, as :func:`integer_amounts` finds it: each
    distinct amount is rounded to a fraction once (``Fraction.limit_denominator``), the multiple is the ``np.lcm``
    of the denominators, and rows over ``max_sites`` atoms are set aside (NaN) before any search. The rest is
    decided from bounds: with every atom at its lowest common state the charge is ``low``, at its highest
    ``high``; 0 outside ``[low, high]`` cannot be reached and 0 at either end can. Only a composition whose zero
    lies strictly inside is searched (:func:`_zero_reachable`), on the reachable totals between the nearer end and
    zero alone.

    Parameters
    ----------
    Z : numpy.ndarray, shape (n_rows, n_elements)
        Atomic numbers, each row's elements distinct.
    W : numpy.ndarray, shape (n_rows, n_elements)
        Their amounts, atoms per formula unit.
    max_sites : int, default DEFAULT_MAX_SITES
        Rows whose integer multiple has more atoms than this are not searched (NaN).
    max_denominator : int, default DEFAULT_MAX_DENOMINATOR
        Largest denominator a fractional amount is rounded to.

    Returns
    -------
    compound_possible, oxidation_states_guessed : numpy.ndarray
        Per row, as :func:`charge_balance` returns them.
    """
    import numpy as np

    Z, W = np.asarray(Z, dtype=np.intp), np.asarray(W, dtype=float)
    k, m = W.shape
    found = np.full(k, math.nan)
    ints, searchable = _integer_multiples(W, max_sites, max_denominator)
    table = _state_table()
    low_state, high_state, has_states = table[0][Z], table[1][Z], table[2][Z]
    low = (ints * low_state).sum(axis=1)
    high = (ints * high_state).sum(axis=1)
    known = searchable & has_states.all(axis=1)
    found[searchable & ~known] = 0.0                        # an element without a common state
    found[known & ((low > 0) | (high < 0))] = 0.0          # zero beyond what the states reach
    found[known & ((low == 0) | (high == 0))] = 1.0        # every atom at its lowest (or highest) state
    for row in np.flatnonzero(known & (low < 0) & (high > 0)):
        found[row] = float(_zero_reachable(tuple(Z[row].tolist()), tuple(ints[row].tolist())))
    guessed = np.where(np.isnan(found), 0.0, found)
    possible = np.ones(k) if m == 1 else found             # matminer: a single element is always "possible"
    return possible, guessed


@lru_cache(maxsize=1)
def _state_table():
    """(lowest, highest common oxidation state, has any) per atomic number, as arrays indexed by Z."""
    import numpy as np

    low, high, known = np.zeros(119, dtype=np.int64), np.zeros(119, dtype=np.int64), np.zeros(119, dtype=bool)
    for symbol, states in common_oxidation_states().items():
        if states:
            z = Element(symbol).Z
            low[z], high[z], known[z] = min(states), max(states), True
    return low, high, known


#: Rounded fractions of the amounts seen: amount -> (numerator, denominator, close enough), per max_denominator.
_FRACTIONS: dict[int, dict[float, tuple[int, int, bool]]] = {}


def _integer_multiples(W, max_sites: int, max_denominator: int):
    """Return ``(ints, searchable)``: each row's amounts as integers (:func:`integer_amounts`) and whether the row
    is searched (every amount near a fraction and at most ``max_sites`` atoms); ints are 0 in other rows."""
    import numpy as np

    k, m = W.shape
    rounded = np.round(W)
    integral = (np.abs(W - rounded) < 1e-8).all(axis=1)
    ints = np.zeros((k, m), dtype=np.int64)
    searchable = np.zeros(k, dtype=bool)
    small = integral & (rounded.sum(axis=1) <= max_sites)
    ints[small] = rounded[small].astype(np.int64)
    searchable[small] = True
    rows = np.flatnonzero(~integral)
    if len(rows):
        memo = _FRACTIONS.setdefault(max_denominator, {})
        values, inverse = np.unique(W[rows], return_inverse=True)
        parts = np.empty((len(values), 3), dtype=np.int64)
        for i, a in enumerate(values.tolist()):
            if a not in memo:
                f = Fraction(a).limit_denominator(max_denominator)
                memo[a] = (f.numerator, f.denominator, f > 0 and not abs(float(f) - a) > 2e-3 * a)
            parts[i] = memo[a]
        if len(memo) > 1_000_000:  # screens see few distinct amounts; a stream of new ones must not grow it forever
            memo.clear()
        p, q, close = (parts[inverse.reshape(len(rows), m), j] for j in range(3))
        lcm = np.ones(len(rows), dtype=np.int64)
        # Every amount is at least 1/q of the multiple's atoms per element, so an lcm beyond max_sites times the
        # largest denominator is over the limit already; clamping it there keeps the products inside int64.
        ceiling = max_sites * max_denominator
        for j in range(m):
            lcm = lcm // np.gcd(lcm, q[:, j]) * q[:, j]
            lcm = np.minimum(lcm, ceiling + 1)
        scaled = p * (lcm[:, None] // q)
        ok = close.all(axis=1).astype(bool) & (lcm <= ceiling) & (scaled.sum(axis=1) <= max_sites)
        ints[rows[ok]] = scaled[ok]
        searchable[rows[ok]] = True
    return ints, searchable


@lru_cache(maxsize=65536)
def _zero_reachable(zs: tuple[int, ...], ints: tuple[int, ...]) -> bool:
    """Whether ``ints`` atoms of the elements ``zs``, each atom in one of its common states, can sum to zero.

    Called when zero lies strictly between the all-lowest and the all-highest totals. Every atom's choice is a
    shift above its element's lowest state, so only the reachable shift totals up to the target (the distance
    from the all-lowest total to zero) matter; from the top, the same holds with the shifts below the highest
    state, and the nearer end is taken. The totals share the shifts' greatest common divisor, which divides them
    out. An element with at least target / (smallest shift) + 1 atoms reaches every sum of its shifts up to the
    target, added by doubling; fewer atoms are added one at a time, stopping when nothing new is reached.
    """
    states = common_oxidation_states()
    shift_sets, low, high = [], 0, 0
    for z, n in zip(zs, ints):
        element_states = sorted(set(states[Element.from_Z(z).symbol]))
        low += n * element_states[0]
        high += n * element_states[-1]
        shift_sets.append([s - element_states[0] for s in element_states])
    target = -low
    if high - target < target:  # nearer from the top: count shifts down from the highest states
        target = high - low - target
        shift_sets = [[shifts[-1] - s for s in shifts] for shifts in shift_sets]
    divisor = 0
    for shifts in shift_sets:
        for s in shifts:
            divisor = math.gcd(divisor, s)
    if target % divisor:
        return False
    target //= divisor
    mask = (1 << (target + 1)) - 1
    reachable = 1
    for shifts, n in zip(shift_sets, ints):
        steps = sorted({s // divisor for s in shifts} - {0})
        if not steps or n == 0:
            continue
        if n > target // steps[0]:  # enough atoms for any sum up to the target: the semigroup, by doubling
            for step in steps:
                while step <= target:
                    reachable |= (reachable << step) & mask
                    step <<= 1
            continue
        for _ in range(n):
            grown = reachable
            for step in steps:
                grown |= (reachable << step) & mask
            if grown == reachable:
                break
            reachable = grown
    return bool((reachable >> target) & 1)


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
    reachable, offset = reachable_charges(symbols, ints, observed_oxidation_states())
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


def plausible_oxidation_states(composition: Composition) -> dict[str, int] | None:
    """Return one oxidation state per element that makes a composition neutral, as a chemist reads a formula.

    Stricter than pymatgen's ``Composition.oxi_state_guesses``, which mixes valences freely and so balances almost
    anything (Li2SrN4 with N at −3, −3, −3, +5; SiS as Si⁴⁻ S⁴⁺): every atom of an element takes the same state,
    one of the element's common states (pymatgen's ``common_oxidation_states``, or its ``oxidation_states`` where
    it has no common one); at least one element is an anion (a negative state), and every anion is more
    electronegative than every cation. Of such assignments, the one using each element's most common states
    (earliest in pymatgen's list) is returned.

    Parameters
    ----------
    composition : pymatgen.core.Composition
        The composition, amounts in atoms per formula unit (fractional amounts are fine).

    Returns
    -------
    dict of str to int or None
        Element symbol → oxidation state, e, in the composition's element order; None when no assignment
        leaves less than 1e-6 e of net charge per formula unit.
    """
    states = _plausible_states(tuple(composition.get_el_amt_dict().items()))
    return None if states is None else dict(states)


@lru_cache(maxsize=1024)
def _plausible_states(amounts: tuple[tuple[str, float], ...]) -> tuple[tuple[str, int], ...] | None:
    """:func:`plausible_oxidation_states` of these element amounts, searched once per composition (a screen dopes
    one host many times)."""
    elements = [Element(symbol) for symbol, _ in amounts]
    options = [el.common_oxidation_states or el.oxidation_states for el in elements]
    best, best_rank = None, None
    for combo in itertools.product(*options):
        charge = sum(q * amount for q, (_, amount) in zip(combo, amounts))
        if abs(charge) > 1e-6 or not any(q < 0 for q in combo):
            continue
        anion_x = min(el.X for q, el in zip(combo, elements) if q < 0)
        if any(q > 0 and el.X >= anion_x for q, el in zip(combo, elements)):
            continue
        rank = sum(opts.index(q) for q, opts in zip(combo, options))
        if best_rank is None or rank < best_rank:
            best, best_rank = combo, rank
    return None if best is None else tuple((el.symbol, q) for q, el in zip(best, elements))
