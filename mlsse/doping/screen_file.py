"""A screen's Parquet file: one row group per chunk, written in two passes (the Pareto flag is known only once
every chunk is in)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlsse.doping.acquisition import FrontTracker, mark_front
from mlsse.io import arrow_table, output_schema, parquet_writer
from mlsse.models.predictor import OUTPUT_COLUMN_TYPES


def screen_schema(frame: pd.DataFrame):
    """Return the Arrow schema of a screen's rows (a first chunk, with ``pareto``): the prediction columns' types,
    the level (formula units), the scores and the Pareto flag."""
    return output_schema(frame, column_types={**OUTPUT_COLUMN_TYPES, "level": "float", "ucb_log10_sigma": "float",
                                              "p_beats_host": "float", "pareto": "bool"})


def without(schema, name: str):
    """Return ``schema`` without the field ``name`` (the first pass is written before ``pareto`` is known)."""
    return schema.remove(schema.get_field_index(name))


def flag_front(source: Path, target: Path, schema, fronts: FrontTracker) -> None:
    """Copy the first pass's row groups into the final file with the ``pareto`` column."""
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(source)
    keys = fronts.keys()
    with parquet_writer(target, schema) as writer:
        for group in range(reader.num_row_groups):
            frame = reader.read_row_group(group).to_pandas()
            writer.write_table(arrow_table(frame.assign(pareto=mark_front(frame, keys)), schema))
