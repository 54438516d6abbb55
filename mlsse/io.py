"""Reading input tables with located errors, and writing files atomically."""

from __future__ import annotations

import csv
import errno
import glob
import hashlib
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from mlsse.errors import DataError


def read_table(path: str | Path, required: Iterable[str] = (), **read_csv_kwargs) -> pd.DataFrame:
    """Read a UTF-8 CSV file into a frame of strings, with errors that name the file and line.

    Values are read as strings (empty cells as ``""``); callers convert and check them. Empty fields past the
    header's columns (trailing commas) are harmless.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    required : iterable of str, optional
        Columns the file must have.
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv`; ``dtype=str``, ``keep_default_na=False`` and ``index_col=False`` are
        the defaults.

    Returns
    -------
    pandas.DataFrame
        The table, one row per data line.

    Raises
    ------
    DataError
        If the file is missing, empty, not UTF-8 or malformed, has a row with a value beyond the header's
        columns or a column name twice, or lacks a ``required`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    read_csv_kwargs.setdefault("dtype", str)
    read_csv_kwargs.setdefault("keep_default_na", False)
    # Otherwise pandas takes a row's extra (trailing-comma) field as a sign that the first column is the index,
    # and silently shifts every column by one.
    read_csv_kwargs.setdefault("index_col", False)
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(path, encoding="utf-8", **read_csv_kwargs)
        except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
            # rows longer than the header: refused unless the extra fields are empty
            header, line = _first_overlong_row(path)
            if isinstance(exc, pd.errors.ParserError) and "Expected" not in str(exc):
                raise
            if line is not None:
                raise DataError(f"the row has a value beyond the header's {len(header)} columns", path=path,
                                line=line) from None
            frame = pd.read_csv(path, encoding="utf-8", usecols=range(len(header)), **read_csv_kwargs)
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV", path=path) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", path=path) from None
    except pd.errors.ParserError as exc:
        _raise_malformed(exc, path)
    try:
        header_line, header = next(_csv_rows(path), (1, []))
    except UnicodeDecodeError as exc:  # pandas may read past bytes Python's csv reader refuses
        raise DataError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV", path=path) from None
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise DataError(f"column(s) {', '.join(repr(name) for name in repeated)} appear more than once",
                        path=path, line=header_line)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(repr(m) for m in missing)}; found {list(frame.columns)}",
                        path=path, line=1)
    return frame


def read_table_chunks(path: str | Path, chunk_rows: int, required: Iterable[str] = ()):
    """Read a UTF-8 CSV file as :func:`read_table` does, ``chunk_rows`` rows at a time.

    The header is checked before the first chunk (as :func:`read_table` checks it); a problem found further in
    (a value beyond the header's columns, bytes that are not UTF-8, a malformed row) raises when its chunk is
    read, with its line.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    chunk_rows : int
        Rows per chunk.
    required : iterable of str, optional
        Columns the file must have.

    Yields
    ------
    pandas.DataFrame
        The next rows, as strings (empty cells as ``""``), with the index they would have in the whole table.

    Raises
    ------
    DataError
        As :func:`read_table`.
    """
    path = Path(path)
    header = read_table(path, required=required, nrows=0)
    options = dict(dtype=str, keep_default_na=False, index_col=False, encoding="utf-8", chunksize=chunk_rows)
    done = 0
    reader = pd.read_csv(path, **options)
    skip = 0  # rows to pass over after a restart (they were yielded before it)
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                chunk = next(reader)
        except StopIteration:
            reader.close()
            return
        except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
            # rows longer than the header: refused unless the extra fields are empty, as read_table does
            if isinstance(exc, pd.errors.ParserError) and "Expected" not in str(exc):
                _raise_malformed(exc, path)
            _, line = _first_overlong_row(path)
            if line is not None:
                raise DataError(f"the row has a value beyond the header's {len(header.columns)} columns", path=path,
                                line=line) from None
            if "usecols" in options:
                raise
            options["usecols"] = range(len(header.columns))
            reader.close()
            reader, skip = pd.read_csv(path, **options), done
            continue
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV", path=path) from None
        if skip:
            dropped = min(skip, len(chunk))
            chunk, skip = chunk.iloc[dropped:], skip - dropped
            if chunk.empty:
                continue
        chunk.index = pd.RangeIndex(done, done + len(chunk))
        done += len(chunk)
        yield chunk


def _raise_malformed(exc: Exception, path: Path):
    match = re.search(r"line (\d+)", str(exc))
    detail = str(exc).split(". ", 1)[-1].strip()
    raise DataError(f"malformed CSV: {detail}", path=path, line=int(match.group(1)) if match else None) from None


def _csv_rows(path: Path):
    """Yield ``(line number, fields)`` of each row pandas reads (blank lines are skipped, as pandas does)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):
                yield reader.line_num, row


def _first_overlong_row(path: Path) -> tuple[list[str], int | None]:
    """Return (header, 1-based line of the first row with a non-empty field beyond the header's, or None)."""
    rows = _csv_rows(path)
    _, header = next(rows, (None, []))
    for line, row in rows:
        if any(field.strip() for field in row[len(header):]):
            return header, line
    return header, None


@contextmanager
def atomic_path(target: str | Path):
    """Write a file atomically: yield a temporary path beside ``target`` that takes its name on success.

    On success the temporary file is renamed over ``target`` in one step; on any error it is removed, so a
    reader never sees a half-written file. The file gets the usual permissions (``0666`` less the umask).

    Parameters
    ----------
    target : str or pathlib.Path
        The file to write; missing parent directories are created.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    IsADirectoryError
        If ``target`` is a directory.
    OSError
        If the temporary file cannot be created (naming ``target``, not the temporary file).
    """
    target = Path(target)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(target))
    refuse_to_replace(target)
    with temporary_path(target) as tmp_path:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; the final file gets the usual permissions
        yield tmp_path
        os.replace(tmp_path, target)


@contextmanager
def temporary_path(target: str | Path):
    """Yield a new empty temporary file beside ``target`` (``.NAME.PID.*.tmp``), removed on every way out.

    Temporaries that a killed process left beside ``target`` (their process is gone) are removed first, so
    ``kill -9`` leaves at most one run's worth of them, until the next run.

    Parameters
    ----------
    target : str or pathlib.Path
        The file the temporary stands in for; missing parent directories are created.

    Yields
    ------
    pathlib.Path
        The temporary file.

    Raises
    ------
    OSError
        If it cannot be created (naming ``target``).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(target)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, f"cannot write here ({exc.strerror})", str(target)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove ``.NAME.PID.*.tmp`` files beside ``target`` whose process no longer runs."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\..*\.tmp$")
    for path in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        match = pattern.match(path.name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (PermissionError, OverflowError):  # someone else's live process, or not a pid
            continue


def refuse_to_replace(target: str | Path) -> None:
    """Raise unless ``target`` is absent or a regular file its owner may write: a rename over a device, FIFO or
    socket would destroy it, and a read-only file was made read-only on purpose (root's ``os.access`` would say
    yes to both, so the mode bits decide).

    Parameters
    ----------
    target : str or pathlib.Path
        The file about to be replaced.

    Raises
    ------
    OSError
        Naming ``target``: not a regular file, or read-only.
    """
    target = Path(target)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(target))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EEXIST, "is not a regular file (a device, FIFO or socket): not replacing it",
                      str(target))
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(errno.EACCES, "is read-only: not replacing it (make it writable, or write "
                              "elsewhere)", str(target))


@contextmanager
def atomic_directory(target: str | Path, replaceable=lambda directory: False):
    """Write a directory atomically: yield a new, empty directory beside ``target`` that takes its name on success.

    On any error the new directory is removed. A reader never sees old and new files mixed: at worst, between
    two renames, no ``target`` at all. A process killed right there leaves the earlier directory as
    ``.<name>.*.old``; the next call for the same ``target`` renames it back first
    (:func:`restore_interrupted_replacement`).

    Parameters
    ----------
    target : str or pathlib.Path
        The directory to write; missing parent directories are created.
    replaceable : callable, optional
        ``replaceable(target) -> bool``: whether an existing, non-empty ``target`` may be replaced. Default:
        never.

    Yields
    ------
    pathlib.Path
        The new directory to write into.

    Raises
    ------
    FileExistsError
        Before anything is written, if ``target`` is a file, a symbolic link, or a non-empty directory that
        ``replaceable`` refuses, so no one's files are deleted.
    OSError
        If the new directory cannot be created (naming ``target``).
    """
    target = Path(target)
    restore_interrupted_replacement(target)
    if target.is_symlink() or (target.exists() and not (target.is_dir() and (not any(target.iterdir())
                                                                             or replaceable(target)))):
        raise FileExistsError(errno.EEXIST, "exists and is not a directory this can replace", str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".new"))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write here ({exc.strerror})", str(target)) from None
    old = staging.with_suffix(".old")
    try:
        yield staging
        umask = os.umask(0)
        os.umask(umask)
        # mkdtemp makes 0700; once written (a read-only mode would have stopped that), the new directory gets
        # the permissions of the one it replaces, else the usual ones.
        os.chmod(staging, target.stat().st_mode & 0o7777 if target.exists() else 0o777 & ~umask)
        try:
            if target.exists():
                target.rename(old)
            staging.rename(target)
        except BaseException:  # also an interrupt between the renames: put the previous directory back
            if old.exists() and not target.exists():
                old.rename(target)
            raise
        shutil.rmtree(old, ignore_errors=True)  # the new directory is in place; a leftover is only clutter
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def restore_interrupted_replacement(target: str | Path) -> Path | None:
    """Undo a replacement :func:`atomic_directory` left half done.

    If ``target`` is missing because a process was killed between :func:`atomic_directory`'s two renames, the
    directory it had moved aside (``.<name>.*.old``, the newest if several) is renamed back to ``target``.

    Parameters
    ----------
    target : str or pathlib.Path
        The directory that may be missing.

    Returns
    -------
    pathlib.Path or None
        The path the directory was renamed back from, or None if there was nothing to restore.
    """
    target = Path(target)
    if target.exists() or target.is_symlink() or not target.parent.is_dir():
        return None
    aside = sorted(target.parent.glob(f".{glob.escape(target.name)}.*.old"), key=lambda p: p.stat().st_mtime)
    if not aside:
        return None
    aside[-1].rename(target)
    return aside[-1]


def write_csv_atomic(frame: pd.DataFrame, target: str | Path) -> Path:
    """Write ``frame`` to ``target`` as CSV (without the index) atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to write.
    target : str or pathlib.Path
        The CSV file.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(target)


#: The table formats an output path may name, by suffix.
TABLE_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | Path, allowed: Iterable[str] = ("csv", "json", "parquet")) -> str:
    """Return the format (``"csv"``, ``"json"`` or ``"parquet"``) an output path's suffix names.

    Parameters
    ----------
    path : str or pathlib.Path
        The output file.
    allowed : iterable of str
        The formats this output may be written in.

    Returns
    -------
    str
        The format.

    Raises
    ------
    ValueError
        If the suffix names no allowed format (the message lists the allowed suffixes).
    """
    allowed = tuple(allowed)
    kind = TABLE_FORMATS.get(Path(path).suffix.lower())
    if kind not in allowed:
        suffixes = ", ".join(suffix for suffix, k in TABLE_FORMATS.items() if k in allowed)
        raise ValueError(f"{path}: give a file ending in {suffixes}")
    return kind


def write_table_atomic(frame: pd.DataFrame, target: str | Path) -> Path:
    """Write ``frame`` to ``target`` atomically in the format its suffix names (:func:`table_format`): CSV without
    the index, JSON as a list of records, or Parquet.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    target : str or pathlib.Path
        The file.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    kind = table_format(target)
    with atomic_path(target) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        elif kind == "json":
            frame.to_json(tmp, orient="records", indent=1, double_precision=10)
        else:
            mixed = [c for c in frame.columns if frame[c].dtype == object
                     and frame[c].dropna().map(type).nunique() > 1]
            # Parquet columns have one type: a column of numbers and text as given (a bad cell kept) is text.
            frame = frame.assign(**{c: frame[c].map(lambda v: v if v is None or v != v else str(v)) for c in mixed})
            frame.to_parquet(tmp, index=False)
    return Path(target)


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_text_atomic(text: str, target: str | Path) -> Path:
    """Write ``text`` to ``target`` as UTF-8 atomically.

    Parameters
    ----------
    text : str
        The content.
    target : str or pathlib.Path
        The file.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
