"""Loader for the Laskowski et al. table of Li-ion conductors (Energy Environ. Sci. 16, 1264 (2023), SI).

The table reaches us as a raw PDF text extraction (``laskowski_semi_formatted.csv``, 8 columns, no header:
composition, RT conductivity / S cm⁻¹, Ea / eV, space-group symbol, space-group number, name or phase, ICSD id,
reference number) plus ``laskowski_doi_lookup.csv`` (reference number → DOI). The extraction is messy:

* a formula cell that wrapped in the PDF is spread over several physical lines: the conductivity sits on the
  middle line (its formula cell empty, or holding the middle piece), the other pieces on the lines before and
  after it; the name column is split the same way;
* subscripts the PDF set on a lower baseline were dropped and re-appear later on the line, leaving a space
  where they belonged (``Li SiS  4 4`` is Li4SiS4, ``Li 10 SiP S 2 12`` is Li10SiP2S12);
* typos (``P05``, ``La o.61``, ``(P04)3``), overlines and Unicode minus signs in numbers, ``<1E-10`` for values
  below the detection limit, composite and pseudo-binary materials (``0.99(0.7Li2S-0.3P2S5)-0.01Li2ZrO3``).

Reading goes in three steps, each a small function below: group physical lines into records
(:func:`_group_records`), restore the dropped subscripts of each formula fragment (:func:`_restore_fragment`),
then join the fragments and turn the formula — a single compound or a mixture — into one pymatgen
``Composition`` by summing coefficient × component (:func:`_mixture_composition`). Where a fragment can be
read in more than one way, the reading whose components are charge balanced wins (:func:`_charge_balanced`).
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from pymatgen.core import Composition, Element
from pymatgen.symmetry.groups import sg_symbol_from_int_number

from mlsse.chemistry import normalise_formula, plausible_oxidation_states
from mlsse.data.references import normalise_doi
from mlsse.data.schema import parse_float, to_curated_frame
from mlsse.errors import DataError
from mlsse.paths import external_data_dir
from mlsse.temperature import ROOM_TEMPERATURE_C

LASKOWSKI_FILE = "laskowski_semi_formatted.csv"
LASKOWSKI_DOI_FILE = "laskowski_doi_lookup.csv"
SOURCE = "laskowski"

#: Columns of the raw table, in order (the file has no header).
RAW_COLUMNS = ["formula", "sigma", "ea", "space_group", "space_group_number", "name", "icsd", "reference"]
_FORMULA, _SIGMA, _EA, _SG, _SG_NUMBER, _NAME, _ICSD, _REF = range(len(RAW_COLUMNS))

_ELEMENTS = frozenset(e.symbol for e in Element)
#: Separators between the components of a mixture as the table prints them.
_SEPARATORS = "-–·*+"
#: Separators the table prints with a space on each side; a single space before them is layout, not a gap.
_SPACED_SEPARATORS = "–·*+"
#: Charge-balance checks are only tried on formulas of at most this many atoms (after scaling to integers).
_MAX_BALANCE_SITES = 60
#: At most this many alternative readings are kept per formula.
_MAX_READINGS = 32


# --------------------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------------------

def load_laskowski(external_dir: str | Path | None = None) -> tuple[pd.DataFrame, list[DataError]]:
    """Load the Laskowski table as curated rows (``source = 'laskowski'``).

    σ is in S/cm at room temperature (25 °C assumed), Ea in eV.

    Parameters
    ----------
    external_dir : str or pathlib.Path, optional
        Directory of the public data files (:func:`mlsse.paths.external_data_dir`).

    Returns
    -------
    frame : pandas.DataFrame
        The curated rows.
    problems : list of DataError
        Records whose formula cannot be reconstructed, lines that hold a formula but neither conductivity nor
        Ea, lines with the wrong number of columns, and reference numbers listed twice in the DOI lookup; each
        names the file and the 1-based line, sorted by file and line.

    Raises
    ------
    DataError
        If the directory, the table or the DOI lookup is missing, or a DOI lookup line is malformed.
    """
    directory = external_data_dir(external_dir)
    path = directory / LASKOWSKI_FILE
    dois, problems = _read_doi_lookup(directory / LASKOWSKI_DOI_FILE)
    lines, line_problems = _read_lines(path)
    problems.extend(line_problems)
    records, orphans = _group_records(lines)
    for line in orphans:
        problems.append(DataError(f"formula {line.cells[_FORMULA]!r} has no conductivity and no Ea and does not "
                                  "continue the formula of a neighbouring row", path=path, line=line.number))
    rows = []
    for record in records:
        try:
            rows.append(_curated_row(record, dois, path))
        except DataError as exc:
            problems.append(exc)
    problems.sort(key=lambda p: (str(p.path), p.line or 0))
    frame = to_curated_frame(rows)
    frame["space_group_number"] = frame["space_group_number"].astype("Int64")
    return frame, problems


# --------------------------------------------------------------------------------------------------------------
# Reading the files
# --------------------------------------------------------------------------------------------------------------

@dataclass
class _Line:
    """One physical line of the raw table."""

    number: int
    cells: list[str]

    def has(self, column: int) -> bool:
        return bool(self.cells[column])


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DataError("file not found", path=path)


def _read_lines(path: Path) -> tuple[list[_Line], list[DataError]]:
    """Read the raw table line by line (so line numbers are physical lines); report lines with ≠ 8 columns."""
    _require_file(path)
    lines, problems = [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                lines.append(_Line(number, [""] * len(RAW_COLUMNS)))
                continue
            cells = next(csv.reader([text]))
            if len(cells) != len(RAW_COLUMNS):
                problems.append(DataError(f"expected {len(RAW_COLUMNS)} comma-separated columns, found {len(cells)}",
                                          path=path, line=number))
                continue
            lines.append(_Line(number, [c.strip() for c in cells]))
    return lines, problems


def _read_doi_lookup(path: Path) -> tuple[dict[int, str], list[DataError]]:
    """Read ``ref. number,DOI`` into {reference number: DOI}.

    A malformed line raises ``DataError`` (every reference would be in doubt); a number listed twice with
    different DOIs keeps the first and is reported.
    """
    _require_file(path)
    dois: dict[int, str] = {}
    problems: list[DataError] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, cells in enumerate(csv.reader(handle), start=1):
            if not "".join(cells).strip() or (number == 1 and not cells[0].strip().isdigit()):
                continue  # blank line or header
            if len(cells) != 2 or not cells[0].strip().isdigit() or not cells[1].strip():
                raise DataError(f"expected 'reference number,DOI', found {','.join(cells)!r}", path=path,
                                line=number)
            ref, doi = int(cells[0]), normalise_doi(cells[1])
            if dois.setdefault(ref, doi) != doi:
                problems.append(DataError(f"reference {ref} listed again with another DOI {doi!r}; kept "
                                          f"{dois[ref]!r}", path=path, line=number))
    return dois, problems


# --------------------------------------------------------------------------------------------------------------
# Step 1: group physical lines into records
# --------------------------------------------------------------------------------------------------------------

@dataclass
class _Record:
    """One table entry: the line holding the conductivity plus the fragment lines before and after it."""

    data: _Line
    heads: list[_Line] = field(default_factory=list)
    tails: list[_Line] = field(default_factory=list)

    @property
    def lines(self) -> list[_Line]:
        return [*self.heads, self.data, *self.tails]

    def first(self, column: int) -> str:
        """The cell of ``column`` on the conductivity line, else on the first fragment line that has one."""
        if self.data.has(column):
            return self.data.cells[column]
        return next((line.cells[column] for line in self.lines if line.has(column)), "")


def _group_records(lines: list[_Line]) -> tuple[list[_Record], list[_Line]]:
    """Attach every line without a conductivity to the record above or below it.

    The PDF centres single-line cells vertically in a wrapped row, so a record spans as many fragment lines
    after its conductivity line as before it: the lines between two conductivity lines are first the tails
    of the upper record (as many as it had heads; one if its formula is still open and it had none), then the
    heads of the lower one (at least one if its own formula cell is empty). A fragment that holds formula text
    but cannot continue the formula (the record's formula cell is filled and neither side is open) is returned
    as an orphan instead.
    """
    records: list[_Record] = []
    orphans: list[_Line] = []
    gap: list[_Line] = []
    for line in lines:
        if not line.has(_SIGMA):
            gap.append(line)
            continue
        record = _Record(line)
        if records:
            upper = records[-1]
            n_tails = min(len(gap), len(upper.heads) or int(_needs_tail(upper)))
            if not upper.heads and not line.has(_FORMULA):
                n_tails = min(n_tails, max(len(gap) - 1, 0))  # an empty cell surely has a head; "open" is a guess
            upper.tails, gap = gap[:n_tails], gap[n_tails:]
        record.heads = gap
        records.append(record)
        gap = []
    if records:
        records[-1].tails = gap
    else:
        orphans.extend(line for line in gap if line.has(_FORMULA))
    for record in records:
        orphans.extend(_drop_foreign_fragments(record))
    return records, sorted(orphans, key=lambda line: line.number)


def _needs_tail(record: _Record) -> bool:
    """True when the record's formula cannot end on its conductivity line (empty cell or open end)."""
    formula = record.data.cells[_FORMULA]
    return not formula or _ends_open(_first_reading(formula))


def _drop_foreign_fragments(record: _Record) -> list[_Line]:
    """Detach head/tail lines whose formula text cannot belong to the record; return them."""
    if not record.data.has(_FORMULA):
        return []  # an empty formula cell always continues on the lines around it
    foreign = [h for h in record.heads if h.has(_FORMULA) and not _ends_open(_first_reading(h.cells[_FORMULA]))]
    text = _first_reading(record.data.cells[_FORMULA])
    for tail in record.tails:
        if not tail.has(_FORMULA):
            continue
        piece = _first_reading(tail.cells[_FORMULA])
        if _ends_open(text) or _starts_open(piece):
            text += piece
        else:
            foreign.append(tail)
    record.heads = [h for h in record.heads if h not in foreign]
    record.tails = [t for t in record.tails if t not in foreign]
    return foreign


def _first_reading(fragment: str) -> str:
    """The most likely cleaned text of a fragment (the raw text if it cannot be read)."""
    try:
        return _restore_fragment(_split_phase_prefix(fragment)[1])[0].text
    except ValueError:
        return fragment


def _ends_open(text: str) -> bool:
    """True when a formula piece cannot be the end of a formula (separator, '(' or 'wt%' last, bare number)."""
    text = text.strip()
    return (not text or text[-1] in _SEPARATORS + "(.[" or text.endswith("%") or text.count("(") > text.count(")")
            or re.search(r"(^|[-–·*+])\s*[\d.]+$", text) is not None)


def _starts_open(text: str) -> bool:
    """True when a formula piece cannot be the start of a formula (')', '.', a separator or a bare number)."""
    text = text.strip()
    return not text or text[0] in _SEPARATORS + ").]" or re.fullmatch(r"[\d.]+", text) is not None


# --------------------------------------------------------------------------------------------------------------
# Step 2: restore the dropped subscripts of one physical fragment
# --------------------------------------------------------------------------------------------------------------

class _Token(NamedTuple):
    """A piece of a formula fragment."""

    kind: str  # elem, num, open, close, sep, wt, ws
    text: str


class _Reading(NamedTuple):
    """One way to read a fragment: the cleaned text and what was done to get it."""

    text: str
    notes: tuple[str, ...]


_PHASE_PREFIX = re.compile(r"^\s*([α-ωΑ-Ω][’']?|[a-z])-(?=[A-Z(\[])")


def _split_phase_prefix(text: str) -> tuple[str, str]:
    """Split a phase prefix such as 'β-' or 'r-' off the start of a formula cell."""
    match = _PHASE_PREFIX.match(text)
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
        if kind is None and char in _SEPARATORS:
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
        return after.text not in _SPACED_SEPARATORS or len(tokens[i + 1].text) >= 2 or not spaced_after
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


def _restore_fragment(fragment: str) -> list[_Reading]:
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
                  for state in states for option in _run_options(value, len(state.pending))][:_MAX_READINGS]
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
                                      (neighbour.kind == "sep" and neighbour.text in _SPACED_SEPARATORS)):
            return True
    return (prev is not None and prev.kind == "close" and nxt is not None and nxt.kind == "num"
            and (i + 1) in kept)


# --------------------------------------------------------------------------------------------------------------
# Step 3: join fragments, read the formula as a mixture of components, choose among readings
# --------------------------------------------------------------------------------------------------------------

class _Formula(NamedTuple):
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
        if joined and (joined.endswith("%") or joined[-1] in _SPACED_SEPARATORS):
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


def _read_formula(fragments: list[str]) -> _Formula:
    """Reconstruct a record's formula from its physical fragments and compute its composition.

    Raises ``ValueError`` (with the reason) when no reading gives a composition.
    """
    prefix, first = _split_phase_prefix(fragments[0])
    per_fragment = [_restore_fragment(f) for f in [first, *fragments[1:]]]
    candidates: list[tuple[str, tuple[str, ...]]] = []
    for combo in itertools.islice(itertools.product(*per_fragment), _MAX_READINGS):
        joined = _join_fragments([r.text for r in combo])
        notes = tuple(n for r in combo for n in r.notes)
        for text, typo_notes in _typo_readings(joined):
            candidates.append((text, notes + typo_notes))
    parsed, errors = [], []
    for text, notes in candidates:
        try:
            parsed.append((text, notes, *_formula_composition(text)))
        except ValueError as exc:
            errors.append(str(exc))
    if not parsed:
        raise ValueError(errors[0] if errors else "no formula")
    chosen, choice_note = _choose_reading(parsed)
    text, notes, composition, leaves, additive, pct, fix_notes = chosen
    all_notes = tuple(dict.fromkeys((*notes, *fix_notes, *((choice_note,) if choice_note else ()))))
    return _Formula(text, prefix, composition, additive, pct, all_notes)


def _choose_reading(parsed: list[tuple]) -> tuple[tuple, str]:
    """Pick the reading whose components are charge balanced; ties go to the first (most likely) reading."""
    distinct = {}
    for item in parsed:
        distinct.setdefault(normalise_formula(item[2]), item)
    if len(distinct) == 1:
        return parsed[0], ""
    options = list(distinct.values())
    scores = [sum(bool(_charge_balanced(leaf)) for leaf in item[3]) for item in options]
    best = max(range(len(options)), key=lambda k: (scores[k], -k))
    others = ", ".join(repr(item[0]) for k, item in enumerate(options) if k != best)
    reason = ("charge balanced" if scores[best] > max(s for k, s in enumerate(scores) if k != best)
              else "first reading; charge balance does not decide")
    return options[best], f"ambiguous formula: read as {options[best][0]!r} ({reason}), not {others}"


def _charge_balanced(formula: str) -> bool | None:
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


def _formula_composition(text: str) -> tuple[Composition, list[str], str, float, tuple[str, ...]]:
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
        if depth == 0 and char in _SEPARATORS:
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
        if any(s in _split_top_level_chars(inner) for s in _SEPARATORS):
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


# --------------------------------------------------------------------------------------------------------------
# Other cells
# --------------------------------------------------------------------------------------------------------------

def _parse_sigma(text: str, path: Path, line: int) -> tuple[float, bool, list[str]]:
    """Conductivity in S/cm; '<x' is censored at x. '<1E10' (exponent sign lost) is read as '<1E-10'."""
    censored = text.startswith("<")
    value = parse_float(text.lstrip("<"), path=path, line=line, column="sigma")
    notes = []
    if censored:
        if value >= 1:
            notes.append(f"{text!r} read as '<{1 / value:.0E}' (exponent sign missing)")
            value = 1 / value
        notes.append("below detection limit (censored)")
    if not value > 0:
        raise DataError(f"conductivity {text!r} is not positive", path=path, line=line, column="sigma")
    return value, censored, notes


def _clean_space_group(raw: str, number: float) -> tuple[str, list[str]]:
    """Readable Hermann–Mauguin symbol: overline → '-', dropped subscripts back, setting letters removed.

    'P1̅' → 'P-1', 'R3̅cH' → 'R-3c', 'P2 /m 1' → 'P21/m', 'P4 /nmcS 2' → 'P42/nmc'. The result is checked
    against the space-group number; a stray trailing token is dropped when that makes them agree.
    """
    if not raw:
        return "", []
    text = re.sub(r"(\d)\u0305", r"-\1", raw).replace("\u0305", "")
    parts = text.split()
    readings = [text.replace(" ", "")]
    if len(parts) > 1:
        *words, last = parts
        if last.isdigit() and len(words) > 1 and len(last) == len(words) - 1:
            readings.insert(0, "".join(w + s for w, s in zip(words, [*last, ""])))
        elif last.isdigit() and len(words) == 1:
            readings.insert(0, words[0] + last)
        readings.append("".join(words))  # the last token is a stray
    readings = [re.sub(r"(?<=[\da-z])[HSZ]$", "", r) for r in readings]
    if math.isnan(number) or not 1 <= number <= 230:
        return readings[0], []
    standard = sg_symbol_from_int_number(int(number)).replace("_", "")
    standard = re.sub(r"^([A-Z])1(.+)1$", r"\1\2", standard)  # monoclinic full symbol P12_1/c1 → P21/c
    for reading in readings:
        if reading == standard:
            notes = [] if reading == readings[0] else [f"stray {parts[-1]!r} dropped from space group {raw!r}"]
            return reading, notes
    return readings[0], [f"space group {readings[0]!r} is not the standard symbol {standard!r} of No. {int(number)}"]


def _references(cell: str, dois: dict[int, str]) -> tuple[str, list[str]]:
    """DOI(s) for a reference cell ('111', '194-195'); 'Laskowski SI ref N' when the lookup lacks N."""
    if not cell:
        return "Laskowski SI", ["no reference number in the table"]
    numbers = [int(n) for n in re.findall(r"\d+", cell)]
    if re.fullmatch(r"\d+\s*-\s*\d+", cell) and numbers[1] - numbers[0] < 10:
        numbers = list(range(numbers[0], numbers[1] + 1))
    if not numbers:
        return f"Laskowski SI ref {cell}", [f"reference {cell!r} is not a number"]
    refs = [dois.get(n, f"Laskowski SI ref {n}") for n in numbers]
    return "; ".join(refs), [f"Laskowski SI ref {cell}"]


def _join_names(parts: list[str]) -> str:
    """Join name-column fragments; a space only between a word and a capitalised word ('“cubic' 'LLZO”')."""
    name = ""
    for part in parts:
        if name and name[-1].islower() and part[:1].isupper():
            name += " "
        name += part
    return name


def _material(formula: _Formula, name: str) -> tuple[str, list[str]]:
    """Material label: the phase prefix (name column or formula cell) + the cleaned formula."""
    match = _PHASE_PREFIX.match(name) or re.match(r"^([α-ωΑ-Ω][’']?)-$", name)
    prefix = match.group(1) + "-" if match else formula.prefix
    rest = name[match.end():] if match else name
    notes = []
    if formula.prefix and not match:
        notes.append(f"phase prefix {formula.prefix!r} as printed")
    if rest and rest.replace(" ", "") != formula.label.replace(" ", ""):
        notes.append(f"name {name!r}")
    return prefix + formula.label, notes


def _curated_row(record: _Record, dois: dict[int, str], path: Path) -> dict:
    """Turn a record into a curated row; raises ``DataError`` (with the conductivity line) if it cannot."""
    line = record.data.number
    fragments = [(ln.number, ln.cells[_FORMULA]) for ln in record.lines if ln.has(_FORMULA)]
    if not fragments:
        raise DataError("no formula", path=path, line=line, column="formula")
    if not record.data.has(_FORMULA) and not any(ln.has(_FORMULA) for ln in record.heads):
        pieces = " + ".join(repr(text) for _, text in fragments)
        raise DataError(f"cannot reconstruct formula: the formula cell is empty and no line before it holds the "
                        f"start of the formula (only {pieces} after it)", path=path, line=line, column="formula")
    raw = " + ".join(repr(text) for _, text in fragments)
    try:
        formula = _read_formula([text for _, text in fragments])
    except ValueError as exc:
        raise DataError(f"cannot reconstruct formula from {raw}: {exc}", path=path, line=line,
                        column="formula") from None
    sigma, censored, notes = _parse_sigma(record.data.cells[_SIGMA], path, line)
    ea = parse_float(record.first(_EA), path=path, line=line, column="ea")
    number = parse_float(record.first(_SG_NUMBER), path=path, line=line, column="space_group_number")
    space_group, sg_notes = _clean_space_group(record.first(_SG), number)
    reference, ref_notes = _references(record.first(_REF), dois)
    material, name_notes = _material(formula, _join_names([ln.cells[_NAME] for ln in record.lines
                                                           if ln.has(_NAME)]))
    icsd = record.first(_ICSD)
    lines_note = ([f"formula spread over lines {fragments[0][0]}-{fragments[-1][0]}"]
                  if len(fragments) > 1 else [])
    note = [f"RT assumed {ROOM_TEMPERATURE_C:g} °C", *notes, *([f"ICSD {icsd}"] if icsd else []),
            *formula.notes, *lines_note, *name_notes, *sg_notes, *ref_notes]
    if re.search(r"([A-Z][a-z]?)[\d.]+\1(?![a-z])", formula.label):
        note.append("same element twice in a row as printed (possible typo in the table)")
    return {
        "composition": normalise_formula(formula.composition),
        "material": material,
        "sigma_S_cm": sigma,
        "temperature_C": ROOM_TEMPERATURE_C,
        "ea_eV": ea,
        "censored": censored,
        "space_group": space_group,
        "space_group_number": int(number) if not math.isnan(number) and 1 <= number <= 230 else math.nan,
        "cif": "",
        "source": SOURCE,
        "reference": reference,
        "value_origin": "table",
        "additive": formula.additive,
        "additive_wt_pct": formula.additive_wt_pct,
        "source_file": LASKOWSKI_FILE,
        "source_line": line,
        "note": "; ".join(note),
    }
