"""Writing tables: the format an output path names, atomic CSV, JSON and Parquet files, and Parquet with fixed
types and bytes (a table streamed in row groups)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from mlsse.io.atomic import atomic_path


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


#: File suffixes read and written as Parquet.
PARQUET_SUFFIXES = tuple(suffix for suffix, kind in TABLE_FORMATS.items() if kind == "parquet")


def is_parquet(path: str | Path) -> bool:
    """Return whether a path names a Parquet file (by its suffix, :data:`PARQUET_SUFFIXES`)."""
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


#: The Arrow type of each name a ``column_types`` mapping may give.
_ARROW_TYPES = {"float": "float64", "text": "string", "bool": "bool_"}


def output_schema(out: pd.DataFrame, input_path: str | Path | None = None,
                  column_types: Mapping[str, str] | None = None):
    """Return the Arrow schema of a table written as Parquet.

    A column named in ``column_types`` gets that type. The other input columns of a Parquet input keep their types
    (``<name>_input`` that of ``<name>``); the rest follow their pandas type, text where it is not a number or a
    flag (so the columns of a CSV input are text).

    Parameters
    ----------
    out : pandas.DataFrame
        The table.
    input_path : str or pathlib.Path, optional
        The file the table's input columns were read from.
    column_types : mapping of str to str, optional
        Column → ``"float"`` (float64), ``"text"`` or ``"bool"``.

    Returns
    -------
    pyarrow.Schema
        One field per column of ``out``, in order.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    fixed = {name: getattr(pa, _ARROW_TYPES[kind])() for name, kind in (column_types or {}).items()}
    given = {}
    if input_path is not None and is_parquet(input_path):
        schema = pq.read_schema(input_path)
        given = {name: schema.field(name).type for name in schema.names}
    fields = []
    for column in out.columns:
        if column in fixed:
            kind = fixed[column]
        elif column in given and column != "composition":
            kind = given[column]
        elif column.endswith("_input") and column.removesuffix("_input") in given:
            kind = given[column.removesuffix("_input")]
        elif pd.api.types.is_float_dtype(out[column]):
            kind = pa.float64()
        elif pd.api.types.is_integer_dtype(out[column]):
            kind = pa.int64()
        elif pd.api.types.is_bool_dtype(out[column]):
            kind = pa.bool_()
        else:
            kind = pa.string()
        fields.append(pa.field(str(column), kind))
    return pa.schema(fields)


def arrow_table(frame: pd.DataFrame, schema, numbers: Iterable[str] = ()):
    """Return ``frame`` as an Arrow table of ``schema`` without pandas metadata, so equal frames give equal bytes.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, with every column of ``schema``.
    schema : pyarrow.Schema
        Its types (:func:`output_schema`); text columns get their cells as text.
    numbers : iterable of str, optional
        Columns whose cells may be text holding numbers (a query's ``temperature_C``): read as numbers, NaN where
        a cell is not one.

    Returns
    -------
    pyarrow.Table
        The table.
    """
    import pyarrow as pa

    numbers = set(numbers)
    columns = {}
    for field in schema:
        values = frame[field.name]
        if field.name in numbers:
            values = pd.to_numeric(values, errors="coerce").astype(float)
        elif pa.types.is_string(field.type):
            values = values.astype(object).where(values.notna(), None)
            values = values.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        columns[field.name] = pa.array(values, type=field.type, from_pandas=True)
    return pa.Table.from_pydict(columns, schema=schema)


def parquet_writer(path: str | Path, schema):
    """Return a ``pyarrow.parquet.ParquetWriter`` with fixed options: the same rows give the same bytes.

    zstd compression, dictionary encoding and statistics as pyarrow sets them, no pandas metadata, and no
    timestamp in the file (Parquet writes none).
    """
    import pyarrow.parquet as pq

    return pq.ParquetWriter(str(path), schema.remove_metadata(), compression="zstd", compression_level=3,
                            use_dictionary=True, write_statistics=True, version="2.6")
