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

This module groups the physical lines into records (:func:`_group_records`) and reads each record's cells into a
curated row; the formula of a record is read from its fragments by :mod:`mlsse.data.laskowski_formula`
(fragments joined, a mixture summed into one composition, ambiguous readings decided by charge balance), each
fragment's dropped subscripts restored by :mod:`mlsse.data.laskowski_fragments`.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pymatgen.symmetry.groups import sg_symbol_from_int_number

from mlsse.chemistry import normalize_formula
from mlsse.data.laskowski_formula import Formula, read_formula
from mlsse.data.laskowski_fragments import PHASE_PREFIX, ends_open, first_reading, starts_open
from mlsse.data.references import normalize_doi
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
            ref, doi = int(cells[0]), normalize_doi(cells[1])
            if dois.setdefault(ref, doi) != doi:
                problems.append(DataError(f"reference {ref} listed again with another DOI {doi!r}; kept "
                                          f"{dois[ref]!r}", path=path, line=number))
    return dois, problems


# --------------------------------------------------------------------------------------------------------------
# Grouping physical lines into records
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
    return not formula or ends_open(first_reading(formula))


def _drop_foreign_fragments(record: _Record) -> list[_Line]:
    """Detach head/tail lines whose formula text cannot belong to the record; return them."""
    if not record.data.has(_FORMULA):
        return []  # an empty formula cell always continues on the lines around it
    foreign = [h for h in record.heads if h.has(_FORMULA) and not ends_open(first_reading(h.cells[_FORMULA]))]
    text = first_reading(record.data.cells[_FORMULA])
    for tail in record.tails:
        if not tail.has(_FORMULA):
            continue
        piece = first_reading(tail.cells[_FORMULA])
        if ends_open(text) or starts_open(piece):
            text += piece
        else:
            foreign.append(tail)
    record.heads = [h for h in record.heads if h not in foreign]
    record.tails = [t for t in record.tails if t not in foreign]
    return foreign


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


def clean_space_group(raw: str, number: float) -> tuple[str, list[str]]:
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


def _material(formula: Formula, name: str) -> tuple[str, list[str]]:
    """Material label: the phase prefix (name column or formula cell) + the cleaned formula."""
    match = PHASE_PREFIX.match(name) or re.match(r"^([α-ωΑ-Ω][’']?)-$", name)
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
        formula = read_formula([text for _, text in fragments])
    except ValueError as exc:
        raise DataError(f"cannot reconstruct formula from {raw}: {exc}", path=path, line=line,
                        column="formula") from None
    sigma, censored, notes = _parse_sigma(record.data.cells[_SIGMA], path, line)
    ea = parse_float(record.first(_EA), path=path, line=line, column="ea")
    number = parse_float(record.first(_SG_NUMBER), path=path, line=line, column="space_group_number")
    space_group, sg_notes = clean_space_group(record.first(_SG), number)
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
        "composition": normalize_formula(formula.composition),
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
