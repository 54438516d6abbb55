"""The composition blocks of the feature table, for many formulas at once, vectorised with numpy.

Values equal matminer's to floating-point rounding (tested to 1e-9) wherever matminer gives a number, including
its quirks: ``mode`` is the smallest property value among the elements whose amount ties for the largest amount,
ties decided by ``numpy.isclose`` on the amounts *as given* (not normalised), so ``Li0.0001O0.00010001`` ties
while ``Li1O1.0001`` does not; min/max/range are NaN when any element's value is NaN.

Each distinct formula is parsed once (pymatgen ``Composition``) and each distinct composition featurized once.
Full rows are cached on disk under ``mlsse.paths.cache_dir()/features/<FEATURIZER_VERSION>.npz``, keyed by the
composition's elements in alphabetical order with their amounts exactly as given (``"Cl5.85 Li2.3 N0.15 Zr1.0"``).
The key keeps the scale because some features depend on it (matminer's ``mode`` ties, ``"Li per formula unit"`` and
the ``element_amount`` block); FeO, OFe and Fe1O1 share a key, Fe2O2 gets its own (with equal Magpie values).
The file is rebuilt on demand and safe to delete; a cache written by other feature code (other labels) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from pymatgen.core import Composition

from mlsse.chemistry import charge_balance_arrays, parse_composition
from mlsse.errors import DataError
from mlsse.features.cache import FeatureCache
from mlsse.features.elements import atomic_numbers, element_tables
from mlsse.features.preset import (
    ANIONS,
    BLOCK_LABELS,
    ELEMENT_AMOUNT_LABELS,
    ELEMENT_FRACTION_LABELS,
    MAGPIE_PROPERTIES,
    MAGPIE_STATS,
    PRESET_OPTIONS,
    STOICHIOMETRY_P,
    VALENCE_ORBITALS,
    VALENCE_PROPS,
    CompositionOptions,
    check_blocks,
    feature_labels,
)

#: Amounts below this count as zero (pymatgen's tolerance).
_AMOUNT_TOLERANCE = 1e-8


def featurize_compositions(compositions: Iterable[Any], *, errors: str = "raise", blocks: Sequence[str] | None = None,
                           cache: bool = True, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Featurize formulas or pymatgen ``Composition`` objects: the composition blocks, one row each.

    Parameters
    ----------
    compositions : iterable
        Formulas (str) or ``Composition`` objects.
    errors : {"raise", "nan"}, default "raise"
        ``"raise"``: raise at the first bad entry. ``"nan"``: give such rows NaN features and the message in an
        extra last column ``"error"`` (``""`` on good rows), for batch prediction.
    blocks : sequence of str, optional
        A subset of :data:`~mlsse.features.preset.BLOCKS`; default all.
    cache : bool, default True
        Use the on-disk cache (see the module documentation); only for the full default set of blocks.
    cache_dir : str or pathlib.Path, optional
        The cache's directory; default ``mlsse.paths.cache_dir()/features``.

    Returns
    -------
    pandas.DataFrame
        One row per entry, in input order, with a RangeIndex; columns
        :func:`~mlsse.features.preset.feature_labels` of ``blocks``.

    Raises
    ------
    DataError
        With ``errors="raise"``, naming the first bad entry's 0-based position and text
        (``composition 3 'LiXx2': unknown element 'Xx'``).
    ValueError
        For an ``errors`` value other than ``"raise"`` or ``"nan"``, or an unknown block.
    """
    if errors not in ("raise", "nan"):
        raise ValueError(f"errors must be 'raise' or 'nan', not {errors!r}")
    names = check_blocks(blocks)
    labels = feature_labels(names)
    items = list(compositions)
    parsed, row_keys, row_errors = _parse_all(items, raise_errors=errors == "raise")
    keys = list(parsed)
    table = np.full((len(keys), len(labels)), np.nan)
    store = None
    if cache and blocks is None and keys:
        store = FeatureCache(cache_dir)
        found = store.lookup(keys, labels)
        missing = [i for i, key in enumerate(keys) if key not in found]
        for i, key in enumerate(keys):
            if key in found:
                table[i] = found[key]
    else:
        missing = list(range(len(keys)))
    if missing:
        computed = compute_features([parsed[keys[i]] for i in missing], names)
        table[missing] = computed
        if store is not None:
            store.add({keys[i]: computed[j] for j, i in enumerate(missing)}, labels)
    position = {key: i for i, key in enumerate(keys)}
    index = np.array([position.get(key, -1) if key is not None else -1 for key in row_keys], dtype=np.intp)
    values = np.full((len(index), len(labels)), np.nan)
    good = index >= 0
    values[good] = table[index[good]]
    frame = pd.DataFrame(values, columns=labels)
    if errors == "nan":
        frame["error"] = row_errors
    return frame


@dataclass(frozen=True)
class ParsedComposition:
    """One distinct composition, as the feature kernels read it.

    Attributes
    ----------
    key : str
        The cache key: elements in alphabetical order with their amounts exactly as given
        (``"Cl5.85 Li2.3 N0.15 Zr1.0"``).
    symbols : tuple of str
        Element symbols, sorted.
    zs : numpy.ndarray
        Their atomic numbers.
    amounts : numpy.ndarray
        Their amounts as given, atoms per formula unit.
    given : pymatgen.core.Composition or None
        The Composition passed in, if any.
    """

    key: str
    symbols: tuple[str, ...]
    zs: np.ndarray
    amounts: np.ndarray
    given: Any = None  # the Composition passed in, if any

    @property
    def composition(self):
        """The pymatgen ``Composition`` (built on demand when the input was a string)."""
        if self.given is not None:
            return self.given
        return Composition(dict(zip(self.symbols, self.amounts.tolist())))


def parsed_composition(item: Any) -> ParsedComposition:
    """Parse one formula or ``Composition`` for the feature kernels.

    Parameters
    ----------
    item : str or pymatgen.core.Composition
        The composition.

    Returns
    -------
    ParsedComposition
        Its elements and amounts.

    Raises
    ------
    ValueError
        With a short reason if it is unusable (:func:`~mlsse.chemistry.parse_composition`, read as pymatgen
        reads it and without repeating the formula: the caller names it).
    """
    composition = parse_composition(item, chemists_notation=False, name_formula=False)
    amounts = composition.get_el_amt_dict()
    z_of = atomic_numbers()
    symbols = tuple(sorted(amounts))
    return ParsedComposition(
        key=" ".join(f"{s}{float(amounts[s])!r}" for s in symbols),
        symbols=symbols,
        zs=np.array([z_of[s] for s in symbols], dtype=np.intp),
        amounts=np.array([float(amounts[s]) for s in symbols]),
        given=composition if isinstance(item, Composition) else None,
    )


def _describe(item: Any) -> str:
    return repr(item) if isinstance(item, str) else repr(str(item))


def _parse_all(items: list, raise_errors: bool) -> tuple[dict[str, ParsedComposition], list, list[str]]:
    """Parse each distinct entry once; return {key: parsed} (first-seen order), the key per row, errors per row."""
    parsed: dict[str, ParsedComposition] = {}
    memo: dict[Any, tuple[str | None, str]] = {}  # raw text -> (key, problem)
    row_keys: list[str | None] = []
    row_errors: list[str] = []
    for position, item in enumerate(items):
        raw = None if isinstance(item, Composition) else (item if isinstance(item, str) else repr(item))
        if raw is not None and raw in memo:
            key, problem = memo[raw]
        else:
            try:
                entry = parsed_composition(item)
                key, problem = entry.key, ""
                parsed.setdefault(key, entry)
            except ValueError as exc:
                key, problem = None, str(exc)
            if raw is not None:
                memo[raw] = (key, problem)
        if key is None:
            message = f"composition {position} {_describe(item)}: {problem}"
            if raise_errors:
                raise DataError(message)
            row_errors.append(message)
        else:
            row_errors.append("")
        row_keys.append(key)
    return parsed, row_keys, row_errors


def compute_features(entries: Sequence[ParsedComposition], blocks: Sequence[str] | None = None,
                     options: CompositionOptions = PRESET_OPTIONS) -> np.ndarray:
    """Compute the composition blocks for parsed compositions, without the cache.

    Compositions are grouped by their number of elements ``m`` so that each group is a dense
    (rows x m) array of atomic numbers and amounts: no padding, no per-composition Python loop for the statistics.

    Parameters
    ----------
    entries : sequence of ParsedComposition
        The compositions (:func:`parsed_composition`).
    blocks : sequence of str, optional
        A subset of :data:`~mlsse.features.preset.BLOCKS`; default all.
    options : CompositionOptions, default PRESET_OPTIONS
        Settings of the charge-balance search.

    Returns
    -------
    numpy.ndarray
        (len(entries), number of labels) feature matrix, columns in
        :func:`~mlsse.features.preset.feature_labels` order.
    """
    names = check_blocks(blocks)
    tables = element_tables()
    widths = [len(BLOCK_LABELS[name]) for name in names]
    out = np.full((len(entries), sum(widths)), np.nan)
    starts = dict(zip(names, np.cumsum([0] + widths[:-1]).tolist()))
    sizes = np.array([len(e.zs) for e in entries], dtype=np.intp)
    for m in np.unique(sizes):
        rows = np.flatnonzero(sizes == m)
        Z = np.stack([entries[r].zs for r in rows])        # (k, m)
        W = np.stack([entries[r].amounts for r in rows])   # (k, m) amounts as given
        for name in names:
            block = _KERNELS[name](Z, W, tables, [entries[r] for r in rows], options)
            out[np.ix_(rows, range(starts[name], starts[name] + block.shape[1]))] = block
    return out


def _magpie_block(Z, W, tables, entries, options) -> np.ndarray:
    V = tables.magpie[Z]                                    # (k, m, p)
    total = W.sum(axis=1)[:, None]
    minimum = V.min(axis=1)                                 # NaN propagates, as in PropertyStats.minimum
    maximum = V.max(axis=1)
    mean = (W[:, :, None] * V).sum(axis=1) / total          # np.average(values, weights=amounts)
    avg_dev = (W[:, :, None] * np.abs(V - mean[:, None, :])).sum(axis=1) / total
    # PropertyStats.mode: np.isclose(weights, weights.max()) on the raw amounts, then the smallest tied value.
    tied = np.isclose(W, W.max(axis=1)[:, None])
    mode = np.where(tied[:, :, None], V, np.inf).min(axis=1)
    stats = {"minimum": minimum, "maximum": maximum, "range": maximum - minimum, "mean": mean,
             "avg_dev": avg_dev, "mode": mode}
    return np.stack([stats[s] for s in MAGPIE_STATS], axis=2).reshape(len(Z), -1)  # property-major, as matminer


def _stoichiometry_block(Z, W, tables, entries, options) -> np.ndarray:
    x = W / W.sum(axis=1)[:, None]
    cols = [np.full(len(Z), float(Z.shape[1])) if p == 0 else ((x ** p).sum(axis=1)) ** (1.0 / p)
            for p in STOICHIOMETRY_P]
    return np.column_stack(cols)


def _valence_block(Z, W, tables, entries, options) -> np.ndarray:
    total = W.sum(axis=1)
    index = {prop: MAGPIE_PROPERTIES.index(prop) for prop in ("NsValence", "NpValence", "NdValence", "NfValence",
                                                             "NValence")}
    avg = np.column_stack([(W * tables.magpie[Z, index[f"N{orb}Valence"]]).sum(axis=1) / total
                           for orb in VALENCE_ORBITALS])
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = avg / ((W * tables.magpie[Z, index["NValence"]]).sum(axis=1) / total)[:, None]
    parts = {"avg": avg, "frac": frac}
    return np.column_stack([parts[p] for p in VALENCE_PROPS])


def _ionic_block(Z, W, tables, entries, options) -> np.ndarray:

    k, m = Z.shape
    out = np.zeros((k, 4))
    if m >= 2:
        i, j = np.triu_indices(m, 1)
        X = tables.electronegativity[Z]
        ionic = 1.0 - np.exp(-0.25 * (X[:, i] - X[:, j]) ** 2)
        f = W / W.sum(axis=1)[:, None]
        out[:, 1] = ionic.max(axis=1)
        out[:, 2] = (f[:, i] * f[:, j] * ionic).sum(axis=1)
    out[:, 0], out[:, 3] = charge_balance_arrays(Z, W, options.max_sites, options.max_denominator)
    return out


def _lithium_block(Z, W, tables, entries, options) -> np.ndarray:
    total = W.sum(axis=1)
    li = (W * (Z == 3)).sum(axis=1)
    amounts = np.column_stack([(W * (Z == z)).sum(axis=1) for z in tables.anion_z])   # (k, 9) ANIONS order
    h, o = ANIONS.index("H"), ANIONS.index("O")
    hydroxide_h = (amounts[:, h] > 0) & (amounts[:, o] > 0)
    anion_amounts = amounts.copy()
    anion_amounts[hydroxide_h, h] = 0.0
    anion_total = anion_amounts.sum(axis=1)
    n_anions = (anion_amounts > 0).sum(axis=1)
    n_cations = Z.shape[1] - (li > 0) - n_anions - hydroxide_h
    with np.errstate(divide="ignore", invalid="ignore"):
        li_per_anion = np.where(anion_total > 0, li / anion_total, np.nan)
        means = []
        for values in (tables.anion_polarizability, tables.anion_radius):
            w = np.where(np.isfinite(values)[None, :], anion_amounts, 0.0)
            wsum = w.sum(axis=1)
            means.append(np.where(wsum > 0, (w * np.nan_to_num(values)[None, :]).sum(axis=1) / wsum, np.nan))
    li_per_fu = li / np.array([_formula_unit_factor(e) if 3 in e.zs else 1.0 for e in entries])
    return np.column_stack([li / total, li_per_fu, li_per_anion, amounts / total[:, None],
                            n_anions, n_cations, means[0], means[1]])


def _formula_unit_factor(entry: ParsedComposition) -> float:
    """The factor pymatgen's reduced composition divides the amounts by. pymatgen reduces only all-integer
    formulas, so a fractional one (the common case when screening) needs no pymatgen call."""
    if not all(abs(a - round(a)) < _AMOUNT_TOLERANCE for a in entry.amounts.tolist()):
        return 1.0
    _, factor = entry.composition.get_reduced_composition_and_factor()
    return float(factor)


def _element_fraction_block(Z, W, tables, entries, options) -> np.ndarray:
    out = np.zeros((len(Z), len(ELEMENT_FRACTION_LABELS)))
    out[np.arange(len(Z))[:, None], Z - 1] = W / W.sum(axis=1)[:, None]
    return out


def _element_amount_block(Z, W, tables, entries, options) -> np.ndarray:
    out = np.zeros((len(Z), len(ELEMENT_AMOUNT_LABELS)))
    factors = np.array([_formula_unit_factor(e) for e in entries])
    out[np.arange(len(Z))[:, None], Z - 1] = W / factors[:, None]
    return out


_KERNELS = {"magpie": _magpie_block, "stoichiometry": _stoichiometry_block, "valence": _valence_block,
            "ionic": _ionic_block, "lithium": _lithium_block, "element_fraction": _element_fraction_block,
            "element_amount": _element_amount_block}


def featurize_one(composition: Any, blocks: Sequence[str], options: CompositionOptions = PRESET_OPTIONS) -> list[float]:
    """Featurize a single composition (the ``featurize`` of the matminer-contract classes).

    Parameters
    ----------
    composition : str or pymatgen.core.Composition
        The composition.
    blocks : sequence of str
        Names from :data:`~mlsse.features.preset.BLOCKS`.
    options : CompositionOptions, default PRESET_OPTIONS
        Settings of the charge-balance search.

    Returns
    -------
    list of float
        The features, in :func:`~mlsse.features.preset.feature_labels` order.

    Raises
    ------
    DataError
        If the composition is unusable (:func:`parsed_composition`).
    """
    try:
        entry = parsed_composition(composition)
    except ValueError as exc:
        raise DataError(f"composition {_describe(composition)}: {exc}") from None
    return compute_features([entry], blocks, options)[0].tolist()
