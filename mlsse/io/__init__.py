"""Files: reading input tables with located errors (:mod:`~mlsse.io.reading`), writing files atomically
(:mod:`~mlsse.io.atomic`), and writing tables in the format their path names (:mod:`~mlsse.io.writing`).

Layer: imports nothing from mlsse but ``mlsse.errors``, so every layer may use it.
"""

from mlsse.io.atomic import (
    atomic_directory,
    atomic_path,
    file_sha256,
    refuse_to_replace,
    restore_interrupted_replacement,
    temporary_path,
    write_text_atomic,
)
from mlsse.io.reading import read_table, read_table_chunks
from mlsse.io.writing import (
    PARQUET_SUFFIXES,
    TABLE_FORMATS,
    arrow_table,
    is_parquet,
    output_schema,
    parquet_writer,
    table_format,
    write_csv_atomic,
    write_table_atomic,
)

__all__ = ["PARQUET_SUFFIXES", "TABLE_FORMATS", "arrow_table", "atomic_directory", "atomic_path", "file_sha256",
           "is_parquet", "output_schema", "parquet_writer", "read_table", "read_table_chunks", "refuse_to_replace",
           "restore_interrupted_replacement", "table_format", "temporary_path", "write_csv_atomic",
           "write_table_atomic", "write_text_atomic"]
