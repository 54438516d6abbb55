"""Element property tables indexed by atomic number, built once from matminer's and pymatgen's data."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from mlsse.chemistry import common_oxidation_states
from mlsse.features.preset import ANION_CHARGES, ANIONS, MAGPIE_PROPERTIES


@dataclass(frozen=True)
class ElementTables:
    """Element property arrays indexed by atomic number (row 0 unused), built once from matminer's data.

    Attributes
    ----------
    z_of : dict of str to int
        Element symbol → atomic number.
    magpie : numpy.ndarray
        (119, 22) ``MagpieData(impute_nan=True)`` values in :data:`~mlsse.features.preset.MAGPIE_PROPERTIES`
        order, in Magpie's units.
    electronegativity : numpy.ndarray
        (119,) Pauling electronegativity (``PymatgenData(impute_nan=True)`` ``"X"``, as ``IonProperty`` uses it).
    anion_z : numpy.ndarray
        Atomic numbers of :data:`~mlsse.features.preset.ANIONS`.
    anion_polarizability : numpy.ndarray
        Their DemlData ``electric_pol``, Å³ (1e-24 cm³); NaN where missing (H).
    anion_radius : numpy.ndarray
        Their Shannon radii at the charges of :data:`~mlsse.features.preset.ANION_CHARGES`, Å; NaN where
        missing (H⁻).
    oxidation_states : dict of str to tuple of int
        Element symbol → :func:`mlsse.chemistry.common_oxidation_states`.
    """

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
    """Load the element tables (matminer MagpieData, PymatgenData, DemlData; pymatgen Shannon radii), once.

    Returns
    -------
    ElementTables
        The tables.
    """
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
    oxidation = common_oxidation_states()
    return ElementTables(z_of=z_of, magpie=magpie, electronegativity=electronegativity,
                         anion_z=np.array([z_of[s] for s in ANIONS]),
                         anion_polarizability=np.array(polarizability), anion_radius=np.array(radius),
                         oxidation_states=oxidation)
