"""Row featurizers applied once per distinct row of cells (candidate tables repeat a few cells over many rows)."""

from __future__ import annotations

import numpy as np


def per_distinct_row(featurize, columns: list[list], width: int) -> np.ndarray:
    """Apply a row featurizer once per distinct row of cells and spread the results over the rows.

    A table of candidates repeats a few process and lattice cells (often all empty) over many rows, so one call
    per distinct row replaces one per row; the values are the featurizer's own.

    Parameters
    ----------
    featurize : callable
        ``featurize(*cells) -> list of float`` of ``width`` values.
    columns : list of list
        The cells, one list per argument, all of one length (the rows).
    width : int
        Number of values per row.

    Returns
    -------
    numpy.ndarray, shape (n_rows, width)
        The featurizer's values per row.
    """
    rows = list(zip(*columns)) if columns else []
    position: dict[tuple, int] = {}
    distinct = []
    index = np.empty(len(rows), dtype=np.intp)
    for i, row in enumerate(rows):
        # Every float NaN is one key (NaN != NaN would make each its own); 1, 1.0 and True stay apart.
        key = tuple((type(v), "nan") if isinstance(v, float) and v != v else (type(v), v) for v in row)
        if key not in position:
            position[key] = len(distinct)
            distinct.append(featurize(*row))
        index[i] = position[key]
    values = np.array(distinct, dtype=float).reshape(len(distinct), width)
    return values[index] if len(rows) else np.empty((0, width))
