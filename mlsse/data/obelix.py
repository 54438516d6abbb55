"""Loader for the OBELiX training split and its CIF archive.

Therrien et al., "OBELiX: A Curated Dataset of Crystal Structures and Experimentally Measured Ionic
Conductivities for Lithium Solid-State Electrolytes", arXiv:2502.14234. CC BY 4.0.
"""

from __future__ import annotations

import tarfile
import warnings
from functools import lru_cache
from pathlib import Path

import pandas as pd

from mlsse.data.io import read_table
from mlsse.data.schema import ASSUMED_ROOM_TEMPERATURE_C, normalise_formula, parse_float, to_curated_frame
from mlsse.errors import DataError
from mlsse.paths import external_data_dir

OBELIX_FILE = "obelix_train.csv"
OBELIX_CIF_ARCHIVE = "obelix_train_cifs.tar.gz"
CIF_SEPARATOR = "::"
_CONDUCTIVITY = "Ionic conductivity (S cm-1)"
_REQUIRED = ["ID", "Reduced Composition", "True Composition", _CONDUCTIVITY, "Space group", "Space group #",
             "a", "b", "c", "alpha", "beta", "gamma", "Family", "DOI", "Cif ID"]


def load_obelix(external_dir: str | Path | None = None) -> tuple[pd.DataFrame, list[DataError]]:
    """Load the OBELiX training split as curated rows (room temperature, S/cm).

    ``<1E-10`` is kept as ``sigma_S_cm = 1e-10`` with ``censored = True`` (a value below the detection limit);
    the model layer decides how to treat it. Rows with a CIF get ``cif = <archive>::train_randomized_cifs/ID.cif``,
    readable with :func:`read_cif_structure`. Returns the frame and the problems: rows that could not be read, and
    a missing or unreadable CIF archive.
    """
    directory = external_data_dir(external_dir)
    path = directory / OBELIX_FILE
    raw = read_table(path, required=_REQUIRED)
    archive = directory / OBELIX_CIF_ARCHIVE
    records, problems = [], []
    try:
        cif_members = _archive_members(archive)
    except (OSError, EOFError, tarfile.TarError) as exc:  # the rows are still usable, without structures
        cif_members = frozenset()
        detail = " ".join(str(exc).split())  # tarfile lists every method it tried, one per line
        reason = "not found" if not archive.is_file() else f"unreadable ({detail})"
        problems.append(DataError(f"CIF archive {reason}: OBELiX rows get no CIF", path=archive))
    for index, row in raw.iterrows():
        line = int(index) + 2
        try:
            records.append(_obelix_record(row, line, path, archive, cif_members))
        except DataError as exc:
            problems.append(exc)
    return to_curated_frame(records), problems


def _obelix_record(row: pd.Series, line: int, path: Path, archive: Path, cif_members: frozenset[str]) -> dict:
    formula = row["Reduced Composition"].strip() or row["True Composition"].strip()
    try:
        composition = normalise_formula(formula)
    except Exception as exc:  # pymatgen raises several types for bad formulas
        raise DataError(f"cannot parse composition {formula!r}: {exc}", path=path, line=line,
                        column="Reduced Composition") from None
    raw_sigma = row[_CONDUCTIVITY].strip()
    censored = raw_sigma.startswith("<")
    sigma = parse_float(raw_sigma.lstrip("<"), path=path, line=line, column=_CONDUCTIVITY)
    kinds = [kind for kind, column in (("total", "IC (Total)"), ("bulk", "IC (Bulk)")) if row.get(column, "").strip()]
    member = f"train_randomized_cifs/{row['ID']}.cif"
    cif = f"{archive}{CIF_SEPARATOR}{member}" if member in cif_members else ""
    number = parse_float(row["Space group #"], path=path, line=line, column="Space group #")
    notes = [f"OBELiX ID {row['ID']}", "RT assumed 25 °C"]
    if row.get("note", "").strip():
        notes.append(row["note"].strip())
    return {
        "composition": composition,
        "material": formula,
        "sigma_S_cm": sigma,
        "temperature_C": ASSUMED_ROOM_TEMPERATURE_C,
        "censored": censored,
        "space_group": row["Space group"].strip(),
        "space_group_number": None if pd.isna(number) else int(number),
        **{p: parse_float(row[p], path=path, line=line, column=p) for p in ("a", "b", "c", "alpha", "beta", "gamma")},
        "cif": cif,
        "family": row["Family"].strip(),
        "source": "obelix",
        "reference": normalise_doi(row["DOI"]),
        "value_origin": "table",
        "sigma_kind": "/".join(kinds) if kinds else "",
        "source_file": OBELIX_FILE,
        "source_line": line,
        "note": "; ".join(notes),
    }


def normalise_doi(doi: object) -> str:
    """Return a DOI in lower case without a resolver prefix (``10.1021/ic030208w``), or '' if empty."""
    text = "" if doi is None or (isinstance(doi, float) and pd.isna(doi)) else str(doi).strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "doi:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
    return text.lower()


@lru_cache(maxsize=2)
def _archive_texts(archive: str, size: int, mtime_ns: int) -> dict[str, bytes]:
    """Every file in a CIF archive, read in one pass (a gzipped tar has no index: reading members one by one
    decompresses it from the start each time); ``size`` and ``mtime_ns`` key the cache to the file's version."""
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@lru_cache(maxsize=4)
def _archive_members(archive: Path) -> frozenset[str]:
    with tarfile.open(archive) as tar:
        return frozenset(m.name for m in tar.getmembers() if m.isfile())


def cif_file_path(cif: str) -> Path:
    """Return the file behind a ``cif`` cell: the path itself, or the archive of ``archive.tar.gz::member``."""
    return Path(cif.split(CIF_SEPARATOR, 1)[0])


def cif_problem(cif: str) -> str | None:
    """Return why the structure behind a ``cif`` cell cannot be read (``file not found``, ``not a readable CIF
    (…)``), or None if it can."""
    if not cif_file_path(cif).is_file():
        return "file not found"
    try:
        read_cif_structure(cif)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same problem for the user
        return f"not a readable CIF ({(str(exc).strip().splitlines() or [type(exc).__name__])[0]})"
    return None


def located_cif(cif: str, directory: str | Path, absolute: bool = False) -> str:
    """Return the ``cif`` cell with a relative file path (before any ``::member``) pointing into ``directory`` if
    the file is there, else left as it is (the working directory's); with ``absolute``, resolved either way."""
    file, separator, member = cif.partition(CIF_SEPARATOR)
    if not file or Path(file).is_absolute():
        return cif
    path = Path(directory) / file if (Path(directory) / file).exists() else Path(file)
    return str(path.resolve() if absolute else path) + separator + member


def read_cif_structure(cif: str):
    """Parse the structure behind a ``cif`` cell: a plain path, or ``archive.tar.gz::member``.

    Returns a pymatgen ``Structure`` (partial occupancies kept as disordered sites).
    """
    from pymatgen.io.cif import CifParser

    if CIF_SEPARATOR in cif:
        archive, member = cif.split(CIF_SEPARATOR, 1)
        try:
            stat = Path(archive).stat()
            text = _archive_texts(archive, stat.st_size, stat.st_mtime_ns)[member].decode("utf-8")
        except (OSError, KeyError, tarfile.TarError, EOFError) as exc:
            raise DataError(f"cannot read CIF {member!r} from archive: {exc}", path=archive) from None
    else:
        if not Path(cif).is_file():
            raise DataError("CIF file not found", path=cif)
        text = Path(cif).read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns on every rounded occupancy; not actionable here
        structures = CifParser.from_str(text, occupancy_tolerance=1.1).parse_structures(primitive=False)
    if not structures:
        raise DataError("no structure could be parsed from CIF", path=cif)
    return structures[0]
