"""One physical fragment of a Laskowski table formula: its dropped subscripts put back, and whether it can start or
end a formula.

The PDF extraction dropped the subscripts a formula set on a lower baseline; they re-appear later on the line,
leaving a space where they belonged (``Li SiS  4 4`` is Li4SiS4, ``Li 10 SiP S 2 12`` is Li10SiP2S12). A fragment
is split into tokens, its gaps and runs of numbers found, and the numbers handed back to the gaps in every way the
layout allows, the most likely first (:func:`restore_fragment`). Lower-case ``o`` typos are read as the table means
them (``La o.61``, ``Ta0.75o3``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from pymatgen.core import Element

_ELEMENTS = frozenset(e.symbol for e in Element)
#: Separators between the components of a mixture as the table prints them.
SEPARATORS = "-–·*+"
#: Separators the table prints with a space on each side; a single space before them is layout, not a gap.
SPACED_SEPARATORS = "–·*+"
#: At most this many alternative readings are kept per fragment and per formula.
MAX_READINGS = 32


def first_reading(fragment: str) -> str:
    """The most likely cleaned text of a fragment (the raw text if it cannot be read)."""
    try:
        return restore_fragment(split_phase_prefix(fragment)[1])[0].text
    except ValueError:
        return fragment


def ends_open(text: str) -> bool:
    """True when a formula piece cannot be the end of a formula (separator, '(' or 'wt%' last, bare number)."""
    text = text.strip()
    return (not text or text[-1] in SEPARATORS + "(.[" or text.endswith("%") or text.count("(") > text.count(")")
            or re.search(r"(^|[-–·*+])\s*[\d.]+$", text) is not None)


def starts_open(text: str) -> bool:
    """True when a formula piece cannot be the start of a formula (')', '.', a separator or a bare number)."""
    text = text.strip()
    return not text or text[0] in SEPARATORS + ").]" or re.fullmatch(r"[\d.]+", text) is not None


class _Token(NamedTuple):
    """A piece of a formula fragment."""

    kind: str  # elem, num, open, close, sep, wt, ws
    text: str


class _Reading(NamedTuple):
    """One way to read a fragment: the cleaned text and what was done to get it."""

    text: str
    notes: tuple[str, ...]


#: A phase prefix printed before a formula ('β-', 'r-').
PHASE_PREFIX = re.compile(r"^\s*([α-ωΑ-Ω][’']?|[a-z])-(?=[A-Z(\[])")


def split_phase_prefix(text: str) -> tuple[str, str]:
    """Split a phase prefix such as 'β-' or 'r-' off the start of a formula cell."""
    match = PHASE_PREFIX.match(text)
    return (match.group(1) + "-", text[match.end():]) if match else ("", text)


def _tokenize(text: str) -> tuple[list[_Token], list[str]]:
    """Split a formula fragment into tokens; element symbols are checked against the periodic table.

    A lower-case 'o' is a typo the table makes in two ways: before '.digit' it stands for zero ('Lao.51'), before
    a digit for oxygen ('Ta0.75o3'). Raises ``ValueError`` on a character that has no place in a formula.
    """
    tokens: list[_Token] = []
    notes: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            j = i
            while j < len(text) and text[j].isspace():
                j += 1
            tokens.append(_Token("ws", text[i:j]))
            i = j
            continue
        match = re.match(r"(\d+(?:\.\d+)?)\s*wt\s*%", text[i:])
        if match:
            tokens.append(_Token("wt", match.group(1)))
            i += match.end()
            continue
        match = re.match(r"\d+\.?\d*|\.\d+", text[i:])
        if match:
            tokens.append(_Token("num", match.group()))
            i += match.end()
            continue
        if char == "o" and re.match(r"o\.\d", text[i:]):
            number = re.match(r"o(\.\d+)", text[i:])
            tokens.append(_Token("num", "0" + number.group(1)))
            notes.append(f"typo 'o{number.group(1)}' read as '0{number.group(1)}'")
            i += number.end()
            continue
        if char == "o" and re.match(r"o\d", text[i:]):
            tokens.append(_Token("elem", "O"))
            notes.append("typo 'o' (lower case) read as oxygen 'O'")
            i += 1
            continue
        if char.isupper():
            symbol = text[i:i + 2] if text[i:i + 2] in _ELEMENTS else char
            if symbol not in _ELEMENTS:
                raise ValueError(f"{char!r} is not an element symbol")
            tokens.append(_Token("elem", symbol))
            i += len(symbol)
            continue
        kind = {"(": "open", "[": "open", ")": "close", "]": "close"}.get(char)
        if kind is None and char in SEPARATORS:
            kind = "sep"
        if kind is None:
            raise ValueError(f"unexpected character {char!r}")
        tokens.append(_Token(kind, char))
        i += 1
    return tokens, notes


@dataclass(frozen=True)
class _Run:
    """Numbers separated only by spaces, and what they may belong to.

    ``anchor`` is the element or ')' right before the run (None after a separator, '(' or the line start);
    ``glued`` says the first number touches it. ``coefficient`` marks a run standing where a mixture
    coefficient can stand; ``forced`` that its number touches the following element or '(' so it must be one.
    """

    numbers: tuple[int, ...]
    anchor: int | None
    glued: bool
    coefficient: bool
    forced: bool


def _hole_after(tokens: list[_Token], i: int) -> bool:
    """True when the element or ')' at ``i`` is followed by a space that stands for a dropped subscript.

    A space before another element, '(' or ')' is such a gap, and so is one before a hyphen (the table never
    spaces hyphens). Before '–', '*' or '·' the table prints a space on both sides, so there only a double
    space, or a space not matched after the separator (' ·10ZnO'), counts.
    """
    if i + 2 >= len(tokens) or tokens[i + 1].kind != "ws":
        return False
    after = tokens[i + 2]
    if after.kind in ("elem", "open", "close"):
        return True
    if after.kind == "sep":
        spaced_after = i + 3 < len(tokens) and tokens[i + 3].kind == "ws"
        return after.text not in SPACED_SEPARATORS or len(tokens[i + 1].text) >= 2 or not spaced_after
    return False


def _scan(tokens: list[_Token]) -> list[tuple[str, object]]:
    """List, in order, the gaps ('hole', index) and the number runs ('run', _Run) of a fragment."""
    events: list[tuple[str, object]] = []
    i = 0
    while i < len(tokens):
        kind = tokens[i].kind
        if kind in ("elem", "close") and _hole_after(tokens, i):
            events.append(("hole", i))
        if kind != "num":
            i += 1
            continue
        numbers = [i]
        j = i + 1
        while j + 1 < len(tokens) and tokens[j].kind == "ws" and tokens[j + 1].kind == "num":
            numbers.append(j + 1)
            j += 2
        before = i - 1
        glued = before >= 0 and tokens[before].kind in ("elem", "close")
        while before >= 0 and tokens[before].kind == "ws":
            before -= 1
        after = tokens[numbers[-1] + 1].kind if numbers[-1] + 1 < len(tokens) else ""
        touches_next = after in ("elem", "open")
        anchor = before if before >= 0 and tokens[before].kind in ("elem", "close") else None
        # '0.2(Li2S) 0.8(GeS2)': a lone number after ') ' that touches '(' starts a new component.
        implicit = anchor is not None and not glued and len(numbers) == 1 and after == "open"
        coefficient = anchor is None or implicit
        events.append(("run", _Run(tuple(numbers), None if coefficient else anchor, glued, coefficient,
                                   coefficient and touches_next)))
        i = numbers[-1] + 1
    return events


def _run_options(run: _Run, pending: int) -> list[tuple[str, ...]]:
    """The ways a run of n numbers can be spread over the ``pending`` gaps before it, most likely first.

    Each option lists the slots that take the numbers, in order: 'coef' (stays in place, first number),
    'holes' (all pending gaps, in order of position) and 'anchor' (the element or ')' before the run, last
    number). 'anchor-first' is the other reading of a glued run: its first number stays on the element.
    """
    n = len(run.numbers)
    options: list[tuple[str, ...]] = []
    if run.coefficient:
        candidates = [("coef",), ("coef", "holes")] if run.forced else [("holes",), ("coef", "holes"), ("coef",)]
    elif run.glued:
        candidates = [("anchor",), ("holes", "anchor"), ("anchor-first", "holes")]
    else:
        candidates = [("holes",), ("holes", "anchor"), ("anchor",)]
    for option in candidates:
        size = sum(pending if slot == "holes" else 1 for slot in option)
        uses_holes = "holes" in option
        if size == n and (not uses_holes or pending > 0) and option not in options:
            options.append(option)
    return options


def restore_fragment(fragment: str) -> list[_Reading]:
    """Return the readings of one physical formula fragment with its dropped subscripts put back.

    The most likely reading comes first. Raises ``ValueError`` if the numbers cannot be placed at all
    (e.g. fewer numbers than gaps: a subscript was lost, not just moved).
    """
    tokens, typo_notes = _tokenize(fragment)
    states = [_Placement((), {}, frozenset(), False)]
    for event, value in _scan(tokens):
        if event == "hole":
            states = [state._replace(pending=state.pending + (value,)) for state in states]
            continue
        states = [_apply_option(state, value, option, tokens)
                  for state in states for option in _run_options(value, len(state.pending))][:MAX_READINGS]
        if not states:
            raise ValueError(f"cannot place the numbers of {fragment!r} into its gaps (a subscript is missing)")
    readings: list[_Reading] = []
    for state in states:
        text = _render(tokens, state.subs, state.kept)
        notes = [*typo_notes, *([f"subscripts restored from {fragment!r}"] if state.moved else [])]
        if text not in [r.text for r in readings]:
            readings.append(_Reading(text, tuple(notes)))
    return readings


class _Placement(NamedTuple):
    """Where the numbers of a fragment have gone so far (one branch of the reading)."""

    pending: tuple[int, ...]   # gaps (token indices) still waiting for a subscript
    subs: dict[int, str]       # token index of an element or ')' → the subscript it receives
    kept: frozenset[int]       # number tokens that stay where they are (coefficients)
    moved: bool                # some number was moved into a gap


def _apply_option(state: _Placement, run: _Run, option: tuple[str, ...], tokens: list[_Token]) -> _Placement:
    """Hand the numbers of ``run`` to the slots named by ``option`` (see :func:`_run_options`)."""
    numbers = [tokens[k].text for k in run.numbers]
    subs, kept, pending = dict(state.subs), set(state.kept), state.pending
    if option[0] == "coef":
        kept.add(run.numbers[0])
        numbers = numbers[1:]
    if option[0] == "anchor-first":
        subs[run.anchor] = numbers.pop(0)
    if "holes" in option:
        subs.update(zip(pending, numbers))
        numbers, pending = numbers[len(pending):], ()
    if "anchor" in option:
        subs[run.anchor] = numbers.pop()
    return _Placement(pending, subs, frozenset(kept), state.moved or "holes" in option)


def _render(tokens: list[_Token], subs: dict[int, str], kept: frozenset[int]) -> str:
    """Write tokens back as text: subscripts after their element, spaces only where the table means them."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        if token.kind in ("elem", "close"):
            out.append(token.text + subs.get(i, ""))
        elif token.kind == "num":
            if i in kept:
                out.append(token.text)
        elif token.kind == "wt":
            out.append(f"{token.text} wt%")
        elif token.kind == "ws":
            # a gap that received a subscript used up one of its spaces
            spaces = len(token.text) - (i - 1 in subs)
            if spaces > 0 and _meaningful_space(tokens, i, kept):
                out.append(" ")
        else:
            out.append(token.text)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def _meaningful_space(tokens: list[_Token], i: int, kept: frozenset[int]) -> bool:
    """Keep a space next to a spaced separator or 'wt%', and between ')' and a component coefficient."""
    prev = next((t for t in reversed(tokens[:i]) if t.kind != "ws"), None)
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    for neighbour in (prev, nxt):
        if neighbour is not None and (neighbour.kind == "wt" or
                                      (neighbour.kind == "sep" and neighbour.text in SPACED_SEPARATORS)):
            return True
    return (prev is not None and prev.kind == "close" and nxt is not None and nxt.kind == "num"
            and (i + 1) in kept)
