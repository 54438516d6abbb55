"""The screening path: composition features for many formulas at once, vectorised with numpy.

:func:`featurize_compositions` returns, one row per input and in input order, the blocks

``magpie``
    matminer's ``ElementProperty.from_preset("magpie")`` (132 columns, matminer's own labels, e.g.
    ``"MagpieData mean Electronegativity"``), computed from matminer's ``MagpieData`` tables as
    element-fraction arrays times property arrays instead of one Python call per statistic.
``stoichiometry``
    matminer's ``Stoichiometry()`` (``"0-norm"`` = number of elements, then the 2, 3, 5, 7, 10-norms).
``valence``
    matminer's ``ValenceOrbital()`` (``"avg s valence electrons"`` ... ``"frac f valence electrons"``).
``ionic``
    matminer's ``IonProperty()`` columns ``"compound possible"``, ``"max ionic char"``, ``"avg ionic char"``,
    plus the flag ``"oxidation states guessed"``; see :class:`mlsse.features.composition.OxidationStateFeaturizer`.
``lithium``
    the Li-electrolyte descriptors of :class:`mlsse.features.composition.LiElectrolyteFeaturizer`.
``element_fraction``
    matminer's ``ElementFraction()`` (118 columns labelled by element symbol, ``"H"`` ... ``"Og"``): the
    composition itself, which the σ model's second view learns from (see ``mlsse.models.training``).
``element_amount``
    each element's amount in the formula unit (118 columns, ``"H atoms per formula unit"`` ...): pymatgen's reduced
    formula for an all-integer composition, the amounts as given otherwise (pymatgen reduces only integer
    formulas). The inputs of the OBELiX paper's random forest, which the σ model's forest member learns from.

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

import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from mlsse.errors import DataError

#: The properties and statistics of matminer's ``ElementProperty.from_preset("magpie")``, in its order.
MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number", "MendeleevNumber", "AtomicWeight", "MeltingT", "Column", "Row", "CovalentRadius",
    "Electronegativity", "NsValence", "NpValence", "NdValence", "NfValence", "NValence", "NsUnfilled",
    "NpUnfilled", "NdUnfilled", "NfUnfilled", "NUnfilled", "GSvolume_pa", "GSbandgap", "GSmagmom",
    "SpaceGroupNumber",
)
MAGPIE_STATS: tuple[str, ...] = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
#: matminer's ``Stoichiometry()`` defaults.
STOICHIOMETRY_P: tuple[int, ...] = (0, 2, 3, 5, 7, 10)
#: matminer's ``ValenceOrbital()`` defaults.
VALENCE_ORBITALS: tuple[str, ...] = ("s", "p", "d", "f")
VALENCE_PROPS: tuple[str, ...] = ("avg", "frac")

#: Elements counted as anions, with the charge used for their Shannon radius. By convention, not from
#: oxidation states: N in a nitrate would count too. H is a hydride anion only when the composition has no O;
#: with O present it is taken as part of OH-/H2O and counted as neither anion nor cation.
ANION_CHARGES: dict[str, int] = {"N": -3, "O": -2, "S": -2, "Se": -2, "F": -1, "Cl": -1, "Br": -1, "I": -1, "H": -1}
ANIONS: tuple[str, ...] = tuple(ANION_CHARGES)

IONIC_LABELS: list[str] = ["compound possible", "max ionic char", "avg ionic char", "oxidation states guessed"]
LITHIUM_LABELS: list[str] = (
    ["Li fraction", "Li per formula unit", "Li per anion"]
    + [f"{symbol} fraction" for symbol in ANIONS]
    + ["anion species count", "non-Li cation species count",
       "mean anion polarizability (A^3)", "mean anion radius (A)"]
)
#: matminer ``ElementFraction`` labels: the element symbols H..Og (Z = 1..118).
ELEMENT_FRACTION_LABELS: list[str] = [
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca",
    "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",
    "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce",
    "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir",
    "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm",
    "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc",
    "Lv", "Ts", "Og",
]
#: Labels of the ``element_amount`` block, H..Og.
ELEMENT_AMOUNT_LABELS: list[str] = [f"{symbol} atoms per formula unit" for symbol in ELEMENT_FRACTION_LABELS]
BLOCK_LABELS: dict[str, list[str]] = {
    "magpie": [f"MagpieData {stat} {prop}" for prop in MAGPIE_PROPERTIES for stat in MAGPIE_STATS],
    "stoichiometry": [f"{p}-norm" for p in STOICHIOMETRY_P],
    "valence": [f"{prop} {orb} valence electrons" for prop in VALENCE_PROPS for orb in VALENCE_ORBITALS],
    "ionic": IONIC_LABELS,
    "lithium": LITHIUM_LABELS,
    "element_fraction": ELEMENT_FRACTION_LABELS,
    "element_amount": ELEMENT_AMOUNT_LABELS,
}
#: Every block, in column order.
BLOCKS: tuple[str, ...] = tuple(BLOCK_LABELS)
CACHE_SUBDIR = "features"


def feature_labels(blocks: Sequence[str] | None = None) -> list[str]:
    """Return the column labels :func:`featurize_compositions` produces for ``blocks`` (default: all)."""
    return [label for name in _check_blocks(blocks) for label in BLOCK_LABELS[name]]


def featurize_compositions(compositions: Iterable[Any], *, errors: str = "raise", blocks: Sequence[str] | None = None,
                           cache: bool = True, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """Featurize formulas or pymatgen ``Composition`` objects; one row each, in input order, with a RangeIndex.

    ``errors="raise"`` raises :class:`mlsse.errors.DataError` at the first bad entry, naming its 0-based
    position and text (``composition 3 'LiXx2': unknown element 'Xx'``). ``errors="nan"`` gives such rows NaN
    features and the message in an extra last column ``"error"`` ('' on good rows), for batch prediction.

    ``blocks`` selects a subset of :data:`BLOCKS` (default all). The on-disk cache (see the module doc) is used for
    the full default set only; ``cache_dir`` overrides ``mlsse.paths.cache_dir()/features``.
    """
    if errors not in ("raise", "nan"):
        raise ValueError(f"errors must be 'raise' or 'nan', not {errors!r}")
    names = _check_blocks(blocks)
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


# ----------------------------------------------------------------------------------------------------------------
# Element tables


@dataclass(frozen=True)
class ElementTables:
    """Element property arrays indexed by atomic number (row 0 unused), built once from matminer's data."""

    z_of: dict[str, int]
    magpie: np.ndarray            # (119, 22) MagpieData(impute_nan=True), MAGPIE_PROPERTIES order
    electronegativity: np.ndarray  # (119,) PymatgenData(impute_nan=True) "X", as IonProperty uses it
    anion_z: np.ndarray            # atomic numbers of ANIONS
    anion_polarizability: np.ndarray  # DemlData "electric_pol" (1e-24 cm^3 = A^3), NaN where missing (H)
    anion_radius: np.ndarray       # pymatgen Species(symbol, charge).ionic_radius, NaN where missing (H-)
    oxidation_states: dict[str, tuple[int, ...]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def atomic_numbers() -> dict[str, int]:
    """Element symbol -> atomic number for Z = 1..118 (pymatgen), without loading matminer's tables."""
    from pymatgen.core import Element

    return {Element.from_Z(z).symbol: z for z in range(1, 119)}


@lru_cache(maxsize=1)
def element_tables() -> ElementTables:
    """Load the element tables (matminer MagpieData, PymatgenData, DemlData; pymatgen Shannon radii)."""
    from matminer.utils.data import DemlData, MagpieData, PymatgenData
    from pymatgen.core import Element, Species

    elements = [Element.from_Z(z) for z in range(1, 119)]
    magpie_data = MagpieData(impute_nan=True)
    magpie = np.full((119, len(MAGPIE_PROPERTIES)), np.nan)
    for j, prop in enumerate(MAGPIE_PROPERTIES):
        magpie[1:, j] = [magpie_data.get_elemental_property(el, prop) for el in elements]
    pymatgen_data = PymatgenData(impute_nan=True)
    electronegativity = np.full(119, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        electronegativity[1:] = [pymatgen_data.get_elemental_property(el, "X") for el in elements]
    deml = DemlData(impute_nan=False)
    polarizability, radius = [], []
    for symbol, charge in ANION_CHARGES.items():
        polarizability.append(float(deml.get_elemental_property(Element(symbol), "electric_pol")))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pymatgen warns "No ionic radius for H-!"
            r = Species(symbol, charge).ionic_radius
        radius.append(np.nan if r is None else float(r))
    z_of = {el.symbol: el.Z for el in elements}
    from mlsse.chemistry import common_oxidation_states

    oxidation = common_oxidation_states()
    return ElementTables(z_of=z_of, magpie=magpie, electronegativity=electronegativity,
                         anion_z=np.array([z_of[s] for s in ANIONS]),
                         anion_polarizability=np.array(polarizability), anion_radius=np.array(radius),
                         oxidation_states=oxidation)


# ----------------------------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class ParsedComposition:
    """One distinct composition: element symbols (sorted), atomic numbers and amounts as given."""

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
        from pymatgen.core import Composition

        return Composition(dict(zip(self.symbols, self.amounts.tolist())))


#: Formulas that are just element symbols and plain decimal amounts ("Li6.4La3Zr1.4Ta0.6O12") are split with this
#: instead of pymatgen's general parser; the amounts are pymatgen's to the bit (float() of the same digits, duplicates
#: summed left to right, amounts below pymatgen's 1e-8 tolerance dropped). Anything else goes through pymatgen.
_SIMPLE_FORMULA = re.compile(r"(?:[A-Z][a-z]?(?:\d+(?:\.\d*)?|\.\d+)?)+")
_SIMPLE_GROUP = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d*)?|\.\d+)?")
_AMOUNT_TOLERANCE = 1e-8


def _simple_amounts(text: str) -> dict[str, float] | None:
    if not _SIMPLE_FORMULA.fullmatch(text):
        return None
    amounts: dict[str, float] = {}
    for symbol, number in _SIMPLE_GROUP.findall(text):
        amounts[symbol] = amounts.get(symbol, 0.0) + (float(number) if number else 1.0)
    z_of = atomic_numbers()
    if any(symbol not in z_of for symbol in amounts):
        return None  # let pymatgen decide (isotopes such as D, or an unknown symbol)
    return {symbol: a for symbol, a in amounts.items() if abs(a) >= _AMOUNT_TOLERANCE}


def parse_composition(item: Any) -> ParsedComposition:
    """Parse one formula (str) or ``Composition``; raise ``ValueError`` with a short reason if it is unusable."""
    from pymatgen.core import Composition

    from mlsse.chemistry import clean_formula_text

    given = None
    if isinstance(item, Composition):
        given = item
        amounts = item.get_el_amt_dict()
    else:
        if item is None or (isinstance(item, float) and math.isnan(item)) or item is pd.NA:
            raise ValueError("empty formula")
        text = clean_formula_text(item)
        if not text:
            raise ValueError("empty formula")
        amounts = _simple_amounts(text)
        if amounts is None:
            try:
                amounts = Composition(text).get_el_amt_dict()
            except Exception as exc:  # pymatgen raises ValueError, KeyError, CompositionError ... for bad formulas
                raise ValueError(f"cannot parse formula ({exc})") from None
    z_of = atomic_numbers()
    for symbol in amounts:
        if symbol not in z_of:
            raise ValueError(f"unknown element {symbol!r}")
    symbols = tuple(sorted(amounts))
    if not symbols or sum(amounts.values()) <= 0:
        raise ValueError("formula has no atoms")
    return ParsedComposition(
        key=" ".join(f"{s}{float(amounts[s])!r}" for s in symbols),
        symbols=symbols,
        zs=np.array([z_of[s] for s in symbols], dtype=np.intp),
        amounts=np.array([float(amounts[s]) for s in symbols]),
        given=given,
    )


def _describe(item: Any) -> str:
    return repr(item) if isinstance(item, str) else repr(str(item))


def _parse_all(items: list, raise_errors: bool) -> tuple[dict[str, ParsedComposition], list, list[str]]:
    """Parse each distinct entry once; return {key: parsed} (first-seen order), the key per row, errors per row."""
    from pymatgen.core import Composition

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
                entry = parse_composition(item)
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


def _check_blocks(blocks: Sequence[str] | None) -> list[str]:
    if blocks is None:
        return list(BLOCKS)
    if isinstance(blocks, str):
        blocks = [blocks]
    unknown = [b for b in blocks if b not in BLOCK_LABELS]
    if unknown:
        raise ValueError(f"unknown feature block(s) {unknown}; choose from {list(BLOCKS)}")
    return [b for b in BLOCKS if b in blocks]


# ----------------------------------------------------------------------------------------------------------------
# Vectorised kernels


def compute_features(entries: Sequence[ParsedComposition], blocks: Sequence[str] | None = None) -> np.ndarray:
    """Return the feature matrix (len(entries) x labels) for parsed compositions; no cache involved.

    Compositions are grouped by their number of elements ``m`` so that each group is a dense
    (rows x m) array of atomic numbers and amounts: no padding, no per-composition Python loop for the statistics.
    """
    names = _check_blocks(blocks)
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
            block = _KERNELS[name](Z, W, tables, [entries[r] for r in rows])
            out[np.ix_(rows, range(starts[name], starts[name] + block.shape[1]))] = block
    return out


def _magpie_block(Z, W, tables, entries) -> np.ndarray:
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


def _stoichiometry_block(Z, W, tables, entries) -> np.ndarray:
    x = W / W.sum(axis=1)[:, None]
    cols = [np.full(len(Z), float(Z.shape[1])) if p == 0 else ((x ** p).sum(axis=1)) ** (1.0 / p)
            for p in STOICHIOMETRY_P]
    return np.column_stack(cols)


def _valence_block(Z, W, tables, entries) -> np.ndarray:
    total = W.sum(axis=1)
    index = {prop: MAGPIE_PROPERTIES.index(prop) for prop in ("NsValence", "NpValence", "NdValence", "NfValence",
                                                             "NValence")}
    avg = np.column_stack([(W * tables.magpie[Z, index[f"N{orb}Valence"]]).sum(axis=1) / total
                           for orb in VALENCE_ORBITALS])
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = avg / ((W * tables.magpie[Z, index["NValence"]]).sum(axis=1) / total)[:, None]
    parts = {"avg": avg, "frac": frac}
    return np.column_stack([parts[p] for p in VALENCE_PROPS])


def _ionic_block(Z, W, tables, entries) -> np.ndarray:
    from mlsse.chemistry import charge_balance

    k, m = Z.shape
    out = np.zeros((k, 4))
    if m >= 2:
        i, j = np.triu_indices(m, 1)
        X = tables.electronegativity[Z]
        ionic = 1.0 - np.exp(-0.25 * (X[:, i] - X[:, j]) ** 2)
        f = W / W.sum(axis=1)[:, None]
        out[:, 1] = ionic.max(axis=1)
        out[:, 2] = (f[:, i] * f[:, j] * ionic).sum(axis=1)
    for r, entry in enumerate(entries):
        out[r, 0], out[r, 3] = charge_balance(entry.symbols, tuple(entry.amounts.tolist()))
    return out


def _lithium_block(Z, W, tables, entries) -> np.ndarray:
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


def _element_fraction_block(Z, W, tables, entries) -> np.ndarray:
    out = np.zeros((len(Z), len(ELEMENT_FRACTION_LABELS)))
    out[np.arange(len(Z))[:, None], Z - 1] = W / W.sum(axis=1)[:, None]
    return out


def _element_amount_block(Z, W, tables, entries) -> np.ndarray:
    out = np.zeros((len(Z), len(ELEMENT_AMOUNT_LABELS)))
    factors = np.array([_formula_unit_factor(e) for e in entries])
    out[np.arange(len(Z))[:, None], Z - 1] = W / factors[:, None]
    return out


_KERNELS = {"magpie": _magpie_block, "stoichiometry": _stoichiometry_block, "valence": _valence_block,
            "ionic": _ionic_block, "lithium": _lithium_block, "element_fraction": _element_fraction_block,
            "element_amount": _element_amount_block}


def featurize_one(composition: Any, blocks: Sequence[str]) -> list[float]:
    """Featurize a single composition (the ``featurize`` of the matminer-style classes); raises ``DataError``."""
    try:
        entry = parse_composition(composition)
    except ValueError as exc:
        raise DataError(f"composition {_describe(composition)}: {exc}") from None
    return compute_features([entry], blocks)[0].tolist()


# ----------------------------------------------------------------------------------------------------------------
# On-disk cache


class FeatureCache:
    """Rows of composition features on disk, one ``.npz`` file per featurizer version.

    The file holds ``keys`` (composition keys), ``labels`` and ``values`` (float64). Writes merge with what is on
    disk under a file lock and replace the file atomically, so parallel runs lose nothing and readers never see a
    half-written file. Deleting the directory only costs recomputation.
    """

    def __init__(self, directory: str | Path | None = None, version: str | None = None):
        from mlsse.features import FEATURIZER_VERSION
        from mlsse.paths import cache_dir

        self.directory = Path(directory) if directory is not None else cache_dir() / CACHE_SUBDIR
        self.version = version or FEATURIZER_VERSION
        self.path = self.directory / f"{self.version}.npz"

    def _read(self, labels: list[str]) -> dict[str, np.ndarray]:
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if data["labels"].tolist() != list(labels):
                    return {}  # written by different feature code under the same name: ignore, overwrite later
                return dict(zip(data["keys"].tolist(), data["values"]))
        except (OSError, ValueError, KeyError):
            return {}  # unreadable (e.g. truncated by a crash elsewhere): treat as empty

    def lookup(self, keys: Iterable[str], labels: list[str]) -> dict[str, np.ndarray]:
        """Return the cached rows for those of ``keys`` that are cached."""
        stored = self._read(labels)
        return {key: stored[key] for key in keys if key in stored}

    def add(self, rows: dict[str, np.ndarray], labels: list[str]) -> None:
        """Merge ``rows`` into the cache file (atomic replace under a lock)."""
        if not rows:
            return
        from filelock import FileLock

        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock", timeout=120):
            stored = self._read(labels)
            stored.update(rows)
            keys = list(stored)
            values = np.array([stored[k] for k in keys], dtype=float).reshape(len(keys), len(labels))
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{self.version}.", suffix=".npz.tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(handle, keys=np.array(keys, dtype=str), labels=np.array(labels, dtype=str),
                             values=values)
                os.replace(tmp, self.path)
            finally:
                Path(tmp).unlink(missing_ok=True)  # only left behind if the write failed
