"""Compositions: parsing formulas into pymatgen ``Composition`` objects, writing them back, comparing them up to
scaling, and their oxidation states and charge balance; shared by every layer.

Layer: imports nothing from mlsse but ``mlsse.errors``, so every layer may use it.
"""

from __future__ import annotations

import math
import re
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
        text = mixture_formula(clean_formula_text(formula))
        if not text:
            raise ValueError("empty formula")
        if re.search(r"(?<![0-9])\.|\.\d*H2O", text):
            # pymatgen reads LiCl.2H2O as LiCl0.2H2O and Li3InCl6.2H2O as Li3InCl6.2H2O: a hydrate's dot, or a typo.
            raise ValueError(f"a '.' in {echo(formula)} that is no decimal point: write decimals with a digit "
                             "before the point (Li0.5) and a hydrate with a middle dot (LiCl·2H2O)")
        try:
            comp = Composition(text)
        except Exception as exc:  # pymatgen raises ValueError, KeyError, ... for bad formulas
            hint = _capitalised(text)
            raise ValueError(f"cannot parse formula {echo(formula)}: {echo(exc, quoted=False)}"
                             + (f"; did you mean {hint}?" if hint else "")) from None
    unknown = [str(sp) for sp in comp.elements if not isinstance(sp, Element)]
    if unknown:
        symbols = ", ".join(repr(u.rstrip("0+-:")) for u in unknown)
        hint = _capitalised(clean_formula_text(formula)) if not isinstance(formula, Composition) else None
        raise ValueError(f"unknown element {symbols} in {echo(formula)}" + (f"; did you mean {hint}?" if hint else ""))
    if comp.num_atoms <= 0 or any(amount < 0 for amount in comp.values()):
        raise ValueError(f"formula {echo(formula)} has no atoms or a negative amount")
    if not all(math.isfinite(amount) and amount <= MAX_AMOUNT for amount in comp.values()):
        raise ValueError(f"formula {echo(formula)} has an amount that is not a number up to {MAX_AMOUNT:g} "
                         "atoms per formula unit")
    return comp


#: Largest amount of one element per formula unit a formula may give (a sane supercell is far below it).
MAX_AMOUNT = 1e4
#: Characters of a user's text an error message repeats.
ECHO_CHARACTERS = 80


def echo(text, quoted: bool = True) -> str:
    """Return user text as an error message repeats it: non-printing characters escaped (``repr``), cut to
    :data:`ECHO_CHARACTERS` with "…".

    Parameters
    ----------
    text : object
        The text (``str()`` of it).
    quoted : bool, default True
        Whether to keep ``repr``'s quotes.

    Returns
    -------
    str
        The echo.
    """
    text = str(text)
    cut = text[:ECHO_CHARACTERS] + ("…" if len(text) > ECHO_CHARACTERS else "")
    shown = repr(cut)
    return shown if quoted else shown[1:-1]


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


#: Unicode subscript digits (Li₃YCl₆) and what they stand for.
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
#: A component of a mixture: an optional amount, then a formula (75Li2S, 0.25P2S5, LiCl, 2H2O).
_COMPONENT = re.compile(r"^(\d+(?:\.\d+)?)?([A-Z(].*)$")


def mixture_formula(text: str) -> str:
    """Return a formula pymatgen reads for the ways chemists write one: Unicode subscripts (``Li₃YCl₆``), and
    mixtures of components with their amounts, in glass notation (``75Li2S-25P2S5``, mol %) or with a middle dot
    (``0.75Li2S·0.25P2S5``, ``75Li2S·25P2S5``, ``LiCl·2H2O``), as ``(Li2S)0.75(P2S5)0.25``; amounts on every
    component that add up to more than 1 are read as mol %. Other text is returned as it is.

    Parameters
    ----------
    text : str
        A formula, white space already removed (:func:`clean_formula_text`).

    Returns
    -------
    str
        The formula; a glass's mol % amounts become fractions of 1.
    """
    text = text.translate(_SUBSCRIPTS)
    separator = "·" if "·" in text else "•" if "•" in text else None
    glass = separator is None and re.fullmatch(r"\d+(?:\.\d+)?[A-Z][^-]*(?:-\d+(?:\.\d+)?[A-Z][^-]*)+", text)
    if separator is None and not glass:
        return text
    parts = text.split(separator) if separator else text.split("-")
    components = [_COMPONENT.match(part) for part in parts]
    if not all(components):
        return text  # not a mixture after all: pymatgen says what is wrong
    amounts = [float(m.group(1)) if m.group(1) else 1.0 for m in components]
    # Amounts on every component that add up to more than 1 are mol % (77.5Li2S·22.5P2S5 as 77.5Li2S-22.5P2S5):
    # fractions of the whole, so that one composition is one formula unit however it is written. A hydrate's
    # (LiCl·2H2O) first component has no amount: its amounts are coefficients.
    if glass or (all(m.group(1) for m in components) and sum(amounts) > 1.0):
        total = sum(amounts)
        amounts = [a / total for a in amounts]
    return "".join(f"({m.group(2)}){_plain_number(amount)}" for m, amount in zip(components, amounts))


def _plain_number(value: float) -> str:
    """A number as pymatgen reads it in a formula: no exponent (1e-05 would read as an element 'e')."""
    return f"{value:.8f}".rstrip("0").rstrip(".")


def _capitalised(text: str) -> str | None:
    """A formula written in lower or upper case only, read as element symbols (``li3ycl6`` → ``Li3YCl6``), if
    there is one reading; None otherwise."""
    if not (text.islower() or text.isupper()) or not re.search(r"[a-zA-Z]", text):
        return None
    symbols = {el.symbol.lower(): el.symbol for el in Element}
    out, i, low = [], 0, text.lower()
    while i < len(low):
        if low[i].isalpha():
            two, one = low[i:i + 2], low[i]
            if len(two) == 2 and two.isalpha() and two in symbols:
                out.append(symbols[two]); i += 2; continue
            if one in symbols:
                out.append(symbols[one]); i += 1; continue
            return None
        out.append(low[i]); i += 1
    guess = "".join(out)
    try:
        Composition(guess)
    except Exception:  # pymatgen raises ValueError, KeyError, ...
        return None
    return guess


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


def composition_key(formula: str | Composition, decimals: int = 4) -> str:
    """Return a key equal for formulas of the same composition up to scaling (FeO == Fe2O2 == Fe0.5O0.5).

    Parameters
    ----------
    formula : str or pymatgen.core.Composition
        A pymatgen-parsable formula, or its Composition.
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
