"""A record's formula in the Laskowski table, read from its physical fragments.

Each fragment's dropped subscripts are put back (:func:`~mlsse.data.laskowski_fragments.restore_fragment`); the
fragments are joined, typos such as ``P05`` or ``(P04)3`` read both ways, and the formula, a single compound or a
mixture (``0.99(0.7Li2S-0.3P2S5)-0.01Li2ZrO3``), turned into one pymatgen ``Composition`` by summing coefficient ×
component (:func:`formula_composition`). Where the formula can be read in more than one way, the reading whose
components are charge balanced wins (:func:`charge_balanced`).
"""

from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction
from typing import NamedTuple

from pymatgen.core import Composition

from mlsse.chemistry import normalize_formula, plausible_oxidation_states
from mlsse.data.laskowski_fragments import (
    MAX_READINGS,
    SEPARATORS,
    SPACED_SEPARATORS,
    restore_fragment,
    split_phase_prefix,
)

#: Charge-balance checks are only tried on formulas of at most this many atoms (after scaling to integers).
_MAX_BALANCE_SITES = 60


class Formula(NamedTuple):
    """The outcome of reading a record's formula."""

    label: str                 # cleaned formula as printed (without phase prefix)
    prefix: str                # phase prefix printed in the formula cell ('β-'), or ''
    composition: Composition   # overall composition (host only when a wt% additive is given)
    additive: str              # additive formula of a 'host – x wt% additive' entry, else ''
    additive_wt_pct: float     # its weight percentage, else NaN
    notes: tuple[str, ...]


def _join_fragments(texts: list[str]) -> str:
    """Concatenate formula pieces of consecutive lines (a break can fall inside a number: 'Ti0' + '.994O3')."""
    joined = ""
    for text in texts:
        if joined and (joined.endswith("%") or joined[-1] in SPACED_SEPARATORS):
            joined += " "
        joined += text
    return joined


def _typo_readings(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Expand '0' followed by digits without a point ('P05', '(P04)3', 'F0'+'12'): a lost point or a letter O."""
    match = re.search(r"(?<![\d.])0(\d+)(?![\d.])", text)
    if not match:
        return [(text, ())]
    digits, start, end = match.group(1), match.start(), match.end()
    readings = []
    for replacement in (f"0.{digits}", f"O{digits}"):
        for rest, notes in _typo_readings(text[end:]):
            note = f"typo '0{digits}' read as '{replacement}'"
            readings.append((text[:start] + replacement + rest, (note, *notes)))
    return readings


def read_formula(fragments: list[str]) -> Formula:
    """Reconstruct a record's formula from its physical fragments and compute its composition.

    Raises ``ValueError`` (with the reason) when no reading gives a composition.
    """
    prefix, first = split_phase_prefix(fragments[0])
    per_fragment = [restore_fragment(f) for f in [first, *fragments[1:]]]
    candidates: list[tuple[str, tuple[str, ...]]] = []
    for combo in itertools.islice(itertools.product(*per_fragment), MAX_READINGS):
        joined = _join_fragments([r.text for r in combo])
        notes = tuple(n for r in combo for n in r.notes)
        for text, typo_notes in _typo_readings(joined):
            candidates.append((text, notes + typo_notes))
    parsed, errors = [], []
    for text, notes in candidates:
        try:
            parsed.append((text, notes, *formula_composition(text)))
        except ValueError as exc:
            errors.append(str(exc))
    if not parsed:
        raise ValueError(errors[0] if errors else "no formula")
    chosen, choice_note = _choose_reading(parsed)
    text, notes, composition, leaves, additive, pct, fix_notes = chosen
    all_notes = tuple(dict.fromkeys((*notes, *fix_notes, *((choice_note,) if choice_note else ()))))
    return Formula(text, prefix, composition, additive, pct, all_notes)


def _choose_reading(parsed: list[tuple]) -> tuple[tuple, str]:
    """Pick the reading whose components are charge balanced; ties go to the first (most likely) reading."""
    distinct = {}
    for item in parsed:
        distinct.setdefault(normalize_formula(item[2]), item)
    if len(distinct) == 1:
        return parsed[0], ""
    options = list(distinct.values())
    scores = [sum(bool(charge_balanced(leaf)) for leaf in item[3]) for item in options]
    best = max(range(len(options)), key=lambda k: (scores[k], -k))
    others = ", ".join(repr(item[0]) for k, item in enumerate(options) if k != best)
    reason = ("charge balanced" if scores[best] > max(s for k, s in enumerate(scores) if k != best)
              else "first reading; charge balance does not decide")
    return options[best], f"ambiguous formula: read as {options[best][0]!r} ({reason}), not {others}"


def charge_balanced(formula: str) -> bool | None:
    """True if ``formula`` can be charge balanced with one common oxidation state per element and the anions more
    electronegative than the cations (:func:`~mlsse.chemistry.plausible_oxidation_states`: not Li2SrN4 with
    mixed-valence N, not SiS as Si⁴⁻ S⁴⁺); None if unknown. Only tried on formulas of at most
    ``_MAX_BALANCE_SITES`` atoms once scaled to integers (keeps it cheap).
    """
    try:
        comp = Composition(formula)
    except Exception:  # pymatgen raises several types for bad formulas
        return None
    if len(comp) < 2:
        return None
    amounts = {el: Fraction(amt).limit_denominator(1000) for el, amt in comp.items()}
    if any(abs(float(f) - comp[el]) > 1e-6 for el, f in amounts.items()):
        return None
    scale = math.lcm(*(f.denominator for f in amounts.values()))
    integer = Composition({el: int(f * scale) for el, f in amounts.items()})
    if integer.num_atoms > _MAX_BALANCE_SITES:
        return None
    return plausible_oxidation_states(integer) is not None


def formula_composition(text: str) -> tuple[Composition, list[str], str, float, tuple[str, ...]]:
    """Composition of a cleaned formula; a 'host – x wt% additive' entry keeps the additive apart.

    Returns (composition, component formulas, additive, additive wt%, notes). Raises ``ValueError``.
    """
    notes: list[str] = []
    if text.count("(") != text.count(")") and "((" in text:
        text = text.replace("((", "(", 1)
        notes.append("doubled '((' read as '('")
    match = re.fullmatch(r"(.+?)\s*[-–]\s*(\d+(?:\.\d+)?) wt%\s*(.+)", text)
    if match:
        host, pct, additive = match.groups()
        composition, leaves = _mixture_composition(host, notes)
        _mixture_composition(additive, notes)  # the additive must be a formula too
        notes.append(f"{pct} wt% {additive} kept as additive (composition is the host)")
        return composition, leaves, additive, float(pct), tuple(notes)
    composition, leaves = _mixture_composition(text, notes)
    coefficients = [float(m.group(1)) for term in _split_top_level(re.sub(r"\s+", "", text))
                    if (m := re.match(r"(\d+(?:\.\d*)?|\.\d+)(?=[A-Z(])", term))]
    if coefficients and min(coefficients) < 1 < max(coefficients):
        notes.append(f"mixture coefficients {', '.join(f'{c:g}' for c in coefficients)} used as printed "
                     "(fractions and larger numbers mixed; possibly a typo)")
    return composition, leaves, "", math.nan, tuple(notes)


def _split_top_level(text: str) -> list[str]:
    """Split at mixture separators that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and char in SEPARATORS:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _mixture_composition(text: str, notes: list[str]) -> tuple[Composition, list[str]]:
    """Sum coefficient × component over a mixture such as '0.99(0.7Li2S-0.3P2S5)-0.01Li2ZrO3'.

    A component without a coefficient counts 1; a parenthesised group that is itself a mixture is read
    recursively and multiplied by the number after it ('(2Li2S-P2S5)0.85(LiI)0.15'). Pymatgen parses each
    plain component. Returns the composition and the plain component formulas. Raises ``ValueError``.
    """
    flat = re.sub(r"\)\s+(?=[\d.])", ")·", text)  # '0.2(Li2S) 0.8(GeS2)': the space separates components
    flat = re.sub(r"\s+", "", flat).replace("[", "(").replace("]", ")")
    if flat.count("(") != flat.count(")"):
        raise ValueError(f"unbalanced parentheses in {text!r}")
    terms = _split_top_level(flat)
    total, leaves = Composition(), []
    for term in terms:
        match = re.match(r"(\d+(?:\.\d*)?|\.\d+)(?=[A-Z(])", term)
        coefficient = float(match.group(1)) if match else 1.0
        body = term[match.end():] if match else term
        if not body:
            raise ValueError(f"empty component {term!r} in {text!r}")
        if len(terms) > 1 and re.fullmatch(r"Li2", body):
            anion = "S" if any(re.search(r"S(?![a-z])", t) for t in terms if t is not term) else "O"
            notes.append(f"component 'Li2' read as 'Li2{anion}' (anion missing in the table)")
            body = f"Li2{anion}"
        composition, body_leaves = _body_composition(body, notes)
        total += composition * coefficient
        leaves.extend(body_leaves)
    if total.num_atoms <= 0:
        raise ValueError(f"no atoms in {text!r}")
    return total, leaves


def _body_composition(body: str, notes: list[str]) -> tuple[Composition, list[str]]:
    """Composition of one component: plain formula text plus parenthesised sub-mixtures with multipliers."""
    plain, total, leaves, i = "", Composition(), [], 0
    while i < len(body):
        if body[i] != "(":
            plain += body[i]
            i += 1
            continue
        depth, j = 0, i
        while True:
            depth += body[j] == "("
            depth -= body[j] == ")"
            if depth == 0:
                break
            j += 1
        inner = body[i + 1:j]
        number = re.match(r"\d+(?:\.\d*)?|\.\d+", body[j + 1:])
        if any(s in _split_top_level_chars(inner) for s in SEPARATORS):
            factor = float(number.group()) if number else 1.0
            composition, inner_leaves = _mixture_composition(inner, notes)
            total += composition * factor
            leaves.extend(inner_leaves)
        else:
            plain += body[i:j + 1] + (number.group() if number else "")
        i = j + 1 + (number.end() if number else 0)
    if plain:
        try:
            composition = Composition(plain)
        except Exception as exc:  # pymatgen raises several types for bad formulas
            raise ValueError(f"pymatgen cannot parse {plain!r}: {exc}") from None
        total += composition
        leaves.append(plain)
    return total, leaves


def _split_top_level_chars(text: str) -> str:
    """The characters of ``text`` outside parentheses."""
    out, depth = [], 0
    for char in text:
        depth += char == "("
        if depth == 0:
            out.append(char)
        depth -= char == ")"
    return "".join(out)
