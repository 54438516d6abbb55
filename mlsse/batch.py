"""Streamed prediction of large tables: read, predict and write a chunk of rows at a time (CSV or Parquet).

Memory follows the chunk, not the table: a chunk is read, checked, featurized, predicted and written before the
next is read, and the rows of a table never depend on each other, so the file written equals
:func:`mlsse.predict` on the whole table written the same way. Layer: beside
:mod:`mlsse.api`; both go through :mod:`mlsse.query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.errors import DataError
from mlsse.io import arrow_table, atomic_path, is_parquet, output_schema, parquet_writer, read_table, read_table_chunks
from mlsse.models.predictor import OUTPUT_COLUMN_TYPES
from mlsse.progress import SILENT, Progress
from mlsse.query import check_query, predict_rows
from mlsse.temperature import kelvin_like_rows, warn_if_kelvin_like
from mlsse.workspace.registry import load_predictor

#: Rows per chunk: large enough that numpy and XGBoost work on whole arrays, small enough for flat memory.
DEFAULT_CHUNK_ROWS = 20_000
#: The Parquet type of each prediction column, and of the temperature (°C) each row was predicted at.
COLUMN_TYPES = {**OUTPUT_COLUMN_TYPES, "temperature_C": "float"}


@dataclass
class StreamSummary:
    """What a streamed prediction did.

    Attributes
    ----------
    rows : int
        Rows read.
    predicted : int
        Rows predicted (the others have a note).
    """

    rows: int = 0
    predicted: int = 0


def predict_file(input_path: str | Path, output_path: str | Path, temperature_c: float | None = None,
                 model: str | Path | None = None, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, cache: bool = True,
                 progress: Progress = SILENT) -> StreamSummary:
    """Predict every row of a CSV or Parquet file into a CSV or Parquet file, a chunk of rows at a time.

    Each row gets what :func:`mlsse.predict` gives it; relative ``cif`` paths are looked up beside the input
    file first. The output is written to a temporary name and renamed at the end, so an error (a query problem
    found in a later chunk, an unreadable row) leaves no output file.

    Parameters
    ----------
    input_path : str or pathlib.Path
        A UTF-8 CSV file or a Parquet file (``.parquet``, ``.pq``) with a ``composition`` column.
    output_path : str or pathlib.Path
        The CSV or Parquet file to write (missing folders are created). In Parquet, ``temperature_C`` is a
        number (°C; empty where the cell was not one) and the input columns keep their types (text from a CSV).
    temperature_c : float, optional
        One temperature for every row, °C; only for an input without ``temperature_C`` values.
    model : str or pathlib.Path, optional
        Model directory; default the active model.
    chunk_rows : int, default DEFAULT_CHUNK_ROWS
        Rows per chunk.
    cache : bool, default True
        Use the on-disk feature caches (bounded; :class:`~mlsse.features.cache.FeatureCache`).
    progress : mlsse.progress.Progress, optional
        Receives one step per row predicted.

    Returns
    -------
    StreamSummary
        Rows read and predicted.

    Raises
    ------
    DataError
        For a problem with the whole query (:func:`mlsse.predict`), or an unreadable file.
    ModelError
        If the model is missing, damaged or incompatible.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    predictor = load_predictor(model)
    chunks = _input_chunks(input_path, chunk_rows)
    total = _row_count(input_path)
    summary = StreamSummary()
    suspects: list[tuple[int, float]] = []
    first = True
    with atomic_path(output_path) as tmp, _TableWriter(tmp, is_parquet(output_path), input_path) as writer, \
            progress.task(f"predicting {input_path.name}", total=total) as advance:
        for chunk in chunks:
            query = check_query(chunk, temperature_c, warn=first)  # the columns' warnings once, not per chunk
            first = False
            predicted = predict_rows(predictor, query, input_path.parent, cache=cache)
            out = predicted.table.reset_index(drop=True)
            suspects += [(summary.rows + i, float(query.temperature_c[i]))
                         for i in kelvin_like_rows(query.temperature_c, predicted.refused)]
            writer.write(out)
            summary.rows += len(out)
            summary.predicted += int(out["log10_sigma"].notna().sum())
            advance(len(out))
        if first:  # no data rows: the header alone
            writer.write(predict_rows(predictor, check_query(_empty_query(input_path)), input_path.parent).table)
    _warn_kelvin_like(suspects, summary.rows)
    return summary


def _warn_kelvin_like(suspects: list[tuple[int, float]], n_rows: int) -> None:
    """:func:`~mlsse.temperature.warn_if_kelvin_like` for the rows of a streamed table, numbered in the whole
    table."""
    if not suspects:
        return
    # The warning names the first suspects and their count only: a short stand-in table with them says the same.
    temperature = np.full(n_rows, np.nan)
    for row, t in suspects[:6]:
        temperature[row] = t
    warn_if_kelvin_like(temperature)


def _input_chunks(path: Path, chunk_rows: int):
    if not is_parquet(path):
        yield from read_table_chunks(path, chunk_rows, required=["composition"])
        return
    import pyarrow.parquet as pq

    if not path.is_file():
        raise DataError("file not found", path=path)
    try:
        source = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError ... for a file that is not Parquet
        raise DataError(f"not a Parquet file ({exc})", path=path) from None
    names = source.schema_arrow.names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"column(s) {', '.join(repr(c) for c in repeated)} appear more than once", path=path)
    if "composition" not in names:
        raise DataError(f"missing column(s) 'composition'; found {names}", path=path)
    done = 0
    for batch in source.iter_batches(batch_size=chunk_rows):
        chunk = batch.to_pandas()
        chunk["composition"] = chunk["composition"].astype(object).where(chunk["composition"].notna(), "")
        chunk.index = pd.RangeIndex(done, done + len(chunk))
        done += len(chunk)
        yield chunk


def _empty_query(path: Path) -> pd.DataFrame:
    if is_parquet(path):
        import pyarrow.parquet as pq

        return pq.read_schema(path).empty_table().to_pandas()
    return read_table(path, required=["composition"], nrows=0)


def _row_count(path: Path) -> int | None:
    """Rows of a Parquet file (from its footer); None for a CSV, whose rows are known only once read."""
    if not is_parquet(path) or not path.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - reported when the chunks are read
        return None


class _TableWriter:
    """Writes prediction chunks to one CSV (header once) or Parquet file (one row group per chunk)."""

    def __init__(self, path: Path, parquet: bool, input_path: Path):
        self.path, self.parquet, self.input_path = path, parquet, input_path
        self.handle = self.writer = self.schema = None

    def __enter__(self) -> "_TableWriter":
        if not self.parquet:
            self.handle = open(self.path, "w", encoding="utf-8", newline="")
        return self

    def write(self, out: pd.DataFrame) -> None:
        if not self.parquet:
            out.to_csv(self.handle, index=False, header=self.handle.tell() == 0)
            return
        if self.schema is None:
            self.schema = output_schema(out, self.input_path, COLUMN_TYPES)
            self.writer = parquet_writer(self.path, self.schema)
        self.writer.write_table(arrow_table(out, self.schema, numbers=["temperature_C"]))

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.writer is not None:
            self.writer.close()

