"""Reading input tables (UTF-8 CSV) into frames of strings, with errors that name the file and line."""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterable
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
