"""Formulas: parsing them into pymatgen ``Composition`` objects (as chemists write them, refusing what pymatgen
would accept silently), writing compositions back, and comparing them up to scaling."""

from __future__ import annotations

import math
import re

import pandas as pd
from pymatgen.core import Composition, DummySpecies, Element, Species


def parse_composition(formula: str | Composition, *, chemists_notation: bool = True,
                      name_formula: bool = True) -> Composition:
    """Return the pymatgen ``Composition`` of ``formula``, refusing what pymatgen would accept silently.

    pymatgen turns an unknown symbol such as ``Xx`` into a dummy species; here that is an error, and so are a
    formula without atoms, a negative amount, and an amount that is not a number up to :data:`MAX_AMOUNT` atoms
    per formula unit. The one check of a formula for every layer: queries, data files and the feature table.

    Parameters
    ----------
    formula : str or pymatgen.core.Composition
        A formula (quotes and white space between groups are stripped, :func:`clean_formula_text`) or a
        composition to check; None, NaN and ``pd.NA`` are an empty formula.
    chemists_notation : bool, default True
        Read the formula as chemists write it (:func:`mixture_formula`: glass notation, middle dots, Unicode
        subscripts) and refuse a "." that is no decimal point (``LiCl.2H2O``, ``Li.5O``). False: pymatgen's own
        reading, amounts exactly as it parses them (the feature table, whose formulas were read this way before).
    name_formula : bool, default True
        Repeat the formula in the messages; False where the caller names it already (``composition 3 'LiXx2':
        unknown element 'Xx'``).

    Returns
    -------
    pymatgen.core.Composition
        The parsed composition (``formula`` itself if it is one).

    Raises
    ------
    ValueError
        With a message naming the problem: empty or unparsable formula, unknown element, no atoms, negative
        amount, an amount that is not a number up to :data:`MAX_AMOUNT`.
    """
    named = f" {echo(formula)}" if name_formula else ""
    if isinstance(formula, Composition):
        comp = formula
    else:
        if formula is None or (isinstance(formula, float) and math.isnan(formula)) or formula is pd.NA:
            raise ValueError("empty formula")
        text = clean_formula_text(formula)
        if chemists_notation:
            text = mixture_formula(text)
        if not text:
            raise ValueError("empty formula")
        if chemists_notation and re.search(r"(?<![0-9])\.|\.\d*H2O", text):
            # pymatgen reads LiCl.2H2O as LiCl0.2H2O and Li3InCl6.2H2O as Li3InCl6.2H2O: a hydrate's dot, or a typo.
            raise ValueError(f"a '.'{' in' + named if named else ''} that is no decimal point: write decimals with a "
                             "digit before the point (Li0.5) and a hydrate with a middle dot (LiCl·2H2O)")
        try:
            comp = Composition(text)
        except Exception as exc:  # pymatgen raises ValueError, KeyError, ... for bad formulas
            hint = _capitalised(text)
            raise ValueError(f"cannot parse formula{named}: {echo(exc, quoted=False)}"
                             + (f"; did you mean {hint}?" if hint else "")) from None
    # A Species (Li+) is a known element; a DummySpecies (Xx) is pymatgen's stand-in for an unknown symbol.
    unknown = [str(sp) for sp in comp.elements
               if isinstance(sp, DummySpecies) or not isinstance(sp, (Element, Species))]
    if unknown:
        symbols = ", ".join(repr(u.rstrip("0+-:")) for u in unknown)
        hint = _capitalised(clean_formula_text(formula)) if not isinstance(formula, Composition) else None
        raise ValueError(f"unknown element {symbols}{' in' + named if named else ''}"
                         + (f"; did you mean {hint}?" if hint else ""))
    if comp.num_atoms <= 0 or any(amount < 0 for amount in comp.values()):
        raise ValueError(f"formula{named} has no atoms or a negative amount")
    if not all(math.isfinite(amount) and amount <= MAX_AMOUNT for amount in comp.values()):
        raise ValueError(f"formula{named} has an amount that is not a number up to {MAX_AMOUNT:g} "
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


def normalize_formula(formula: str | Composition) -> str:
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
