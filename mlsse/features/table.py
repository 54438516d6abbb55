"""The feature table of curated rows: composition, process, lattice and structure blocks side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.data.cif import cif_file_path, cif_problem, read_cif_structure
from mlsse.data.schema import cell_text
from mlsse.features.cache import FeatureCache
from mlsse.features.composition import featurize_compositions
from mlsse.features.preset import FEATURIZER_VERSION
from mlsse.features.rows import per_distinct_row

_LATTICE_COLUMNS = ["a", "b", "c", "alpha", "beta", "gamma"]


@dataclass(frozen=True)
class CifInfo:
    """What the feature table takes from one readable CIF."""

    #: The structure block, in :data:`~mlsse.features.structure.STRUCTURE_LABELS` order.
    structure_features: tuple[float, ...]
    #: Atoms per cell (partial occupancies summed), for the volume per atom.
    atoms_per_cell: float
    #: a, b, c (Å), alpha, beta, gamma (degrees): used when the row gives none.
    lattice_constants: tuple[float, ...]


def featurize_table(frame: pd.DataFrame, structures: bool = True, *, errors: str = "raise", cache: bool = True,
                    cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Return the feature table for a frame with curated columns.

    Blocks, left to right: composition (:func:`featurize_compositions` on ``composition``), process
    (:class:`~mlsse.features.process.CompositeProcessFeaturizer` on ``additive``, ``additive_wt_pct``,
    ``synthesis``, ``note``, ``family``), lattice (:class:`~mlsse.features.structure.LatticeFeaturizer` on
    ``space_group_number`` and ``a``..``gamma``) and, if ``structures``, the structure block
    (:data:`~mlsse.features.structure.STRUCTURE_LABELS`) from the CIF in ``cif``. Only ``composition`` is required;
    absent columns count as empty.

    Each distinct CIF is read once (:func:`mlsse.data.cif.read_cif_structure`) and its features kept in memory
    and in an on-disk cache beside the composition cache (``cache=False`` skips both disk caches). A row without a
    CIF, or whose CIF cannot be read or featurized, gets NaN structure columns (the models handle NaN). A row
    with none of the six lattice constants takes its CIF's.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with a ``composition`` column and any of the other curated columns read (lattice constants in Å
        and degrees, ``additive_wt_pct`` in wt%).
    structures : bool, default True
        Read CIFs. Without them, ``volume per atom (A^3)`` is NaN and lattice constants are not filled from
        CIFs, and no structure columns are added.
    errors : {"raise", "nan"}, default "raise"
        As in :func:`featurize_compositions`; with ``"nan"`` the ``"error"`` column comes last and also names a
        row's CIF that is missing or unreadable (that row keeps its other features).
    cache : bool, default True
        Use the on-disk composition and structure caches.
    cache_dir : str or pathlib.Path, optional
        Their directory; default ``mlsse.paths.cache_dir()/features``.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in order (RangeIndex).

    Raises
    ------
    ValueError
        If ``frame`` has no ``composition`` column.
    DataError
        With ``errors="raise"``, for the first composition that cannot be featurized.
    """
    # Lazy: the process and structure featurizers load matminer, which `import mlsse.features` does not.
    from mlsse.features.process import featurize_process_frame
    from mlsse.features.structure import (
        LATTICE_LABELS,
        STRUCTURE_LABELS,
        LatticeFeaturizer,
    )

    if "composition" not in frame.columns:
        raise ValueError("featurize_table needs a 'composition' column")
    frame = frame.reset_index(drop=True)
    blocks = [featurize_compositions(frame["composition"], errors=errors, cache=cache, cache_dir=cache_dir)]
    error = blocks[0].pop("error") if errors == "nan" else None
    blocks.append(featurize_process_frame(frame))

    cifs = [_cif_text(v) for v in frame["cif"]] if "cif" in frame.columns else [""] * len(frame)
    known = _cif_infos(cifs, cache=cache, cache_dir=cache_dir) if structures else {}
    infos = [known.get(cif) for cif in cifs]
    given = [frame[c].tolist() if c in frame.columns else [math.nan] * len(frame) for c in _LATTICE_COLUMNS]
    numbers = frame["space_group_number"].tolist() if "space_group_number" in frame.columns else [math.nan] * len(frame)
    atoms = [math.nan] * len(frame)
    for i in [i for i, info in enumerate(infos) if info is not None]:
        atoms[i] = infos[i].atoms_per_cell
        if all(_missing(column[i]) for column in given):  # from the CIF when the table has none
            for column, value in zip(given, infos[i].lattice_constants):
                column[i] = value
    lattice = LatticeFeaturizer()
    blocks.append(pd.DataFrame(per_distinct_row(lambda number, *cell: lattice.featurize(number, *cell[:6],
                                                                                          n_atoms=cell[6]),
                                                [numbers, *given, atoms], len(LATTICE_LABELS)),
                               columns=LATTICE_LABELS))
    if structures:
        nan_row = [math.nan] * len(STRUCTURE_LABELS)
        values = [list(info.structure_features) if info is not None else nan_row for info in infos]
        blocks.append(pd.DataFrame(np.array(values, dtype=float).reshape(len(frame), len(STRUCTURE_LABELS)),
                                   columns=STRUCTURE_LABELS))
    table = pd.concat(blocks, axis=1)
    if error is not None:
        error = error.to_numpy(dtype=object)
        for i, cif in enumerate(cifs):
            if structures and cif and infos[i] is None and not error[i]:
                error[i] = f"cif {cif!r}: {cif_problem(cif) or 'not a readable CIF'}"
        table["error"] = error
    return table


def _missing(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def _cif_text(value) -> str:
    return cell_text(value)


_CIF_EXTRA = ["readable", "atoms per cell", "a", "b", "c", "alpha", "beta", "gamma"]


def _cif_infos(cifs: list[str], cache: bool, cache_dir: str | Path | None) -> dict[str, CifInfo | None]:
    """Return {cif: info (None if unreadable)} for the distinct non-empty cells of ``cifs``, through the cache.

    The on-disk structure cache file is ``<FEATURIZER_VERSION>-structure.npz`` beside the composition cache; its
    key is the cell plus the size and modification time of the CIF (or archive) file, so an edited file is
    featurized again.
    """
    from mlsse.features.structure import STRUCTURE_LABELS

    labels = STRUCTURE_LABELS + _CIF_EXTRA
    unique = list(dict.fromkeys(cif for cif in cifs if cif))
    if not unique:
        return {}
    keys = {cif: _cif_cache_key(cif) for cif in unique}
    store = FeatureCache(cache_dir, version=f"{FEATURIZER_VERSION}-structure") if cache else None
    found = store.lookup(keys.values(), labels) if store is not None else {}
    infos, new = {}, {}
    n = len(STRUCTURE_LABELS)
    for cif in unique:
        row = found.get(keys[cif])
        if row is None:
            info = _cif_info(cif)
            row = np.full(len(labels), np.nan)
            row[n] = 0.0
            if info is not None:
                row[:n], row[n] = info.structure_features, 1.0
                row[n + 1], row[n + 2:] = info.atoms_per_cell, info.lattice_constants
            new[keys[cif]] = row
        infos[cif] = (CifInfo(tuple(row[:n]), float(row[n + 1]), tuple(row[n + 2:])) if row[n] == 1.0 else None)
    if store is not None and new:
        store.add(new, labels)
    return infos


def _cif_cache_key(cif: str) -> str:
    try:
        stat = cif_file_path(cif).stat()
    except OSError:
        return f"{cif}|missing"
    return f"{cif}|{stat.st_size}|{stat.st_mtime_ns}"


@lru_cache(maxsize=4096)
def _cif_info(cif: str) -> CifInfo | None:
    """Return what the feature table takes from the CIF behind a ``cif`` cell, or None if it is unreadable."""
    import warnings

    from mlsse.features.structure import featurize_structure

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structure = read_cif_structure(cif)
    except Exception:  # noqa: BLE001 - ignore_errors style: any unreadable CIF becomes NaN columns
        return None
    lattice = structure.lattice
    return CifInfo(tuple(featurize_structure(structure)), float(structure.composition.num_atoms),
                   (lattice.a, lattice.b, lattice.c, lattice.alpha, lattice.beta, lattice.gamma))

