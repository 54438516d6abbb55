"""CIF files: where a ``cif`` cell points, whether it can be read, and the pymatgen ``Structure`` behind it.

A ``cif`` cell is a path to a CIF file, or ``archive.tar.gz::member`` for a CIF inside an archive (the OBELiX
structures). Relative paths are resolved against the folder of the table they came from, then the working directory.
"""

from __future__ import annotations

import tarfile
import warnings
from functools import lru_cache
from pathlib import Path

from mlsse.errors import DataError

#: Between an archive's path and a member's name in a ``cif`` cell.
CIF_SEPARATOR = "::"


@lru_cache(maxsize=2)
def _archive_texts(archive: str, size: int, mtime_ns: int) -> dict[str, bytes]:
    """Every file in a CIF archive, read in one pass (a gzipped tar has no index: reading members one by one
    decompresses it from the start each time); ``size`` and ``mtime_ns`` key the cache to the file's version."""
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@lru_cache(maxsize=4)
def archive_members(archive: Path) -> frozenset[str]:
    """Return the names of the files in a CIF archive.

    Parameters
    ----------
    archive : pathlib.Path
        A tar archive (gzipped or not).

    Returns
    -------
    frozenset of str
        Member names of its regular files.

    Raises
    ------
    OSError, tarfile.TarError, EOFError
        If the archive is missing or unreadable.
    """
    with tarfile.open(archive) as tar:
        return frozenset(m.name for m in tar.getmembers() if m.isfile())


def cif_file_path(cif: str) -> Path:
    """Return the file behind a ``cif`` cell: the path itself, or the archive of ``archive.tar.gz::member``.

    Parameters
    ----------
    cif : str
        A ``cif`` cell.

    Returns
    -------
    pathlib.Path
        The file on disk.
    """
    return Path(cif.split(CIF_SEPARATOR, 1)[0])


def cif_problem(cif: str) -> str | None:
    """Return why the structure behind a ``cif`` cell cannot be read, or None if it can.

    Parameters
    ----------
    cif : str
        A ``cif`` cell.

    Returns
    -------
    str or None
        ``"file not found"``, ``"not a readable CIF (<first line of the error>)"``, or None.
    """
    if not cif_file_path(cif).is_file():
        return "file not found"
    try:
        read_cif_structure(cif)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same problem for the user
        return f"not a readable CIF ({(str(exc).strip().splitlines() or [type(exc).__name__])[0]})"
    return None


def located_cif(cif: str, directory: str | Path, absolute: bool = False) -> str:
    """Resolve a relative ``cif`` cell against a directory, falling back to the working directory.

    Parameters
    ----------
    cif : str
        A ``cif`` cell; an empty or absolute one is returned unchanged.
    directory : str or pathlib.Path
        Where a relative file path (before any ``::member``) is looked up first, e.g. the folder of the table
        the cell came from.
    absolute : bool, default False
        Return the path resolved to an absolute one.

    Returns
    -------
    str
        The cell pointing into ``directory`` if the file is there, else left relative to the working directory
        (resolved with ``absolute``); any ``::member`` is kept.
    """
    file, separator, member = cif.partition(CIF_SEPARATOR)
    if not file or Path(file).is_absolute():
        return cif
    path = Path(directory) / file if (Path(directory) / file).exists() else Path(file)
    return str(path.resolve() if absolute else path) + separator + member


def read_cif_structure(cif: str):
    """Parse the structure behind a ``cif`` cell.

    Parameters
    ----------
    cif : str
        A plain path, or ``archive.tar.gz::member``.

    Returns
    -------
    pymatgen.core.Structure
        The first structure in the CIF, in the cell the CIF gives (not reduced to a primitive one), partial
        occupancies kept as disordered sites.

    Raises
    ------
    DataError
        If the file or archive member is missing or unreadable, or the CIF holds no structure pymatgen can
        parse.
    Exception
        Whatever pymatgen raises for a malformed CIF (:func:`cif_problem` turns any of these into a message).
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
