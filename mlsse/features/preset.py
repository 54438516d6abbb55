"""The frozen feature preset: which columns the composition block has, in which order, computed with which
settings.

``FEATURIZER_VERSION`` names the whole feature table (these composition columns, then the process, lattice and
structure blocks of :mod:`mlsse.features.process` and :mod:`mlsse.features.structure`). A released preset never
changes; any change to a feature (a new column, a new rule, new element data) gets a new name, so a saved model can
check that it is fed the features it was trained on and the on-disk feature cache never mixes two definitions.

The composition blocks, in column order:

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
    plus the flag ``"oxidation states guessed"``; see :class:`mlsse.features.featurizers.OxidationStateFeaturizer`.
``lithium``
    the Li-electrolyte descriptors of :class:`mlsse.features.featurizers.LiElectrolyteFeaturizer`.
``element_fraction``
    matminer's ``ElementFraction()`` (118 columns labelled by element symbol, ``"H"`` ... ``"Og"``): the
    composition itself, which the σ model's second view learns from (see ``mlsse.models.fitting``).
``element_amount``
    each element's amount in the formula unit (118 columns, ``"H atoms per formula unit"`` ...): pymatgen's reduced
    formula for an all-integer composition, the amounts as given otherwise (pymatgen reduces only integer
    formulas). The inputs of the OBELiX paper's random forest, which the σ model's forest member learns from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mlsse.chemistry import DEFAULT_MAX_DENOMINATOR, DEFAULT_MAX_SITES

#: The frozen feature preset this code computes (see the module documentation).
FEATURIZER_VERSION = "mlsse-2026.11.3"

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


@dataclass(frozen=True)
class CompositionOptions:
    """Settings of the composition blocks.

    The charge-balance search of the ``ionic`` block is made on the smallest integer multiple of a formula
    (:func:`mlsse.chemistry.charge_balance`).

    Attributes
    ----------
    max_sites : int
        The search is skipped (NaN) when that multiple has more atoms than this.
    max_denominator : int
        Amounts are rounded to fractions with denominators up to this.
    """

    max_sites: int = DEFAULT_MAX_SITES
    max_denominator: int = DEFAULT_MAX_DENOMINATOR


#: The settings of :data:`FEATURIZER_VERSION` (the matminer-contract featurizers take the same ones as arguments).
PRESET_OPTIONS = CompositionOptions()


def check_blocks(blocks: Sequence[str] | None) -> list[str]:
    """Return the composition blocks named, in column order.

    Parameters
    ----------
    blocks : str or sequence of str, optional
        Names from :data:`BLOCKS`; default all.

    Returns
    -------
    list of str
        The blocks in :data:`BLOCKS` order.

    Raises
    ------
    ValueError
        For an unknown block name.
    """
    if blocks is None:
        return list(BLOCKS)
    if isinstance(blocks, str):
        blocks = [blocks]
    unknown = [b for b in blocks if b not in BLOCK_LABELS]
    if unknown:
        raise ValueError(f"unknown feature block(s) {unknown}; choose from {list(BLOCKS)}")
    return [b for b in BLOCKS if b in blocks]


def feature_labels(blocks: Sequence[str] | None = None) -> list[str]:
    """Return the column labels of composition blocks, in column order.

    Parameters
    ----------
    blocks : str or sequence of str, optional
        Names from :data:`BLOCKS`; default all.

    Returns
    -------
    list of str
        The labels.

    Raises
    ------
    ValueError
        For an unknown block name.
    """
    return [label for name in check_blocks(blocks) for label in BLOCK_LABELS[name]]
