"""Structure and lattice featurizers: Li-site geometry from a pymatgen Structure, density and symmetry through
matminer, and cell descriptors from the curated lattice columns alone."""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Any

import numpy as np
from matminer.featurizers.base import BaseFeaturizer, MultipleFeaturizer

from mlsse.features.preset import ANIONS

_IMPLEMENTORS = ["mlsse developers"]
_ITA_2016 = (
    "@book{ITA2016, title={International Tables for Crystallography, Volume A: Space-group symmetry}, "
    "editor={Aroyo, Mois I.}, edition={6}, year={2016}, publisher={Wiley}, doi={10.1107/97809553602060000114}}"
)
_ONG_2013 = (
    "@article{Ong2013, author={Ong, Shyue Ping and Richards, William Davidson and Jain, Anubhav and Hautier, "
    "Geoffroy and Kocher, Michael and Cholia, Shreyas and Gunter, Dan and Chevrier, Vincent L. and Persson, "
    "Kristin A. and Ceder, Gerbrand}, doi={10.1016/j.commatsci.2012.10.028}, journal={Computational Materials "
    "Science}, pages={314--319}, title={Python Materials Genomics (pymatgen): A robust, open-source python library "
    "for materials analysis}, volume={68}, year={2013}}"
)

LI_SITE_LABELS: list[str] = [
    "mean Li-Li nearest distance (A)", "min Li-Li distance (A)", "mean Li-anion nearest distance (A)",
    "mean Li coordination number", "mean Li site occupancy",
]


def _site_symbols(site) -> dict[str, float]:
    """Element symbol -> occupancy of a (possibly disordered) site."""
    return site.species.get_el_amt_dict()


class LiSiteFeaturizer(BaseFeaturizer):
    """Geometry of the Li sites of a pymatgen ``Structure``, disordered structures included.

    A Li site is any site whose species include Li with occupancy > 0 (mixed and partially occupied sites count);
    an anion site is any site holding an element of :data:`mlsse.features.preset.ANIONS` (H only when the structure
    has no O). Distances are between site centres, periodic images included; pairs closer than ``min_distance``
    (split positions of one disordered site, which cannot both be occupied) are ignored.

    Features: mean over Li sites of the nearest Li-Li distance, the smallest Li-Li distance, the mean nearest
    Li-anion distance (all in A), the mean Li coordination number (anion sites within
    ``(1 + shell_tolerance)`` x that Li site's nearest Li-anion distance) and the mean Li occupancy of the Li sites.
    A structure without Li gives NaN for all.

    Parameters
    ----------
    shell_tolerance : float, default 0.2
        Relative width of the first coordination shell.
    min_distance : float, default 0.5
        Distances below this (Å) are not neighbours.
    max_radius : float, default 10.0
        Largest neighbour search radius (Å); the search starts at 4 Å and grows until every Li site has a Li
        and an anion neighbour and its whole first shell.
    """

    def __init__(self, shell_tolerance: float = 0.2, min_distance: float = 0.5, max_radius: float = 10.0):
        self.shell_tolerance = shell_tolerance
        self.min_distance = min_distance
        self.max_radius = max_radius

    def featurize(self, structure) -> list[float]:
        """Return the Li-site features of a structure.

        Parameters
        ----------
        structure : pymatgen.core.Structure
            The structure; disordered sites are allowed.

        Returns
        -------
        list of float
            The features, in :data:`LI_SITE_LABELS` order (distances in Å); NaN for all without Li.
        """
        occupancies = [_site_symbols(site) for site in structure]
        li_sites = [i for i, occ in enumerate(occupancies) if occ.get("Li", 0) > 0]
        if not li_sites:
            return [math.nan] * len(LI_SITE_LABELS)
        has_oxygen = any("O" in occ for occ in occupancies)
        anion_set = {a for a in ANIONS if not (a == "H" and has_oxygen)}
        is_li = np.array([occ.get("Li", 0) > 0 for occ in occupancies])
        is_anion = np.array([any(el in anion_set and amt > 0 for el, amt in occ.items()) for occ in occupancies])
        radius = min(4.0, self.max_radius)
        while True:
            li_li, li_an, cn = self._neighbours(structure, li_sites, is_li, is_anion, radius)
            shell = np.nanmax(li_an) * (1 + self.shell_tolerance) if np.isfinite(li_an).any() else math.inf
            complete = np.isfinite(li_li).all() and np.isfinite(li_an).all() and shell <= radius
            if complete or radius >= self.max_radius:
                break
            radius = min(self.max_radius, max(radius * 1.5, shell if math.isfinite(shell) else 0.0))
        li_occupancy = [occupancies[i]["Li"] for i in li_sites]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN means stay NaN
            return [float(np.nanmean(li_li)), float(np.nanmin(li_li)), float(np.nanmean(li_an)),
                    float(np.nanmean(cn)), float(np.mean(li_occupancy))]

    def _neighbours(self, structure, li_sites, is_li, is_anion, radius):
        centres, points, _, distances = structure.get_neighbor_list(radius, sites=[structure[i] for i in li_sites])
        n = len(li_sites)
        li_li, li_an, cn = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        keep = distances >= self.min_distance
        centres, points, distances = centres[keep], points[keep], distances[keep]
        for k in range(n):
            mine = centres == k
            d_li = distances[mine & is_li[points]]
            d_an = distances[mine & is_anion[points]]
            if d_li.size:
                li_li[k] = d_li.min()
            if d_an.size:
                li_an[k] = d_an.min()
                cn[k] = float((d_an <= li_an[k] * (1 + self.shell_tolerance)).sum())
        return li_li, li_an, cn

    def feature_labels(self) -> list[str]:
        """Return the feature labels, in order."""
        return list(LI_SITE_LABELS)

    def citations(self) -> list[str]:
        """Return the BibTeX entry of pymatgen (Ong et al. 2013), which finds the neighbours."""
        return [_ONG_2013]

    def implementors(self) -> list[str]:
        """Return who implemented this featurizer."""
        return list(_IMPLEMENTORS)


#: matminer's structure feature names -> the readable names used in mlsse tables.
MATMINER_STRUCTURE_LABELS: dict[str, str] = {
    "density": "structure density (g/cm^3)",
    "vpa": "structure volume per atom (A^3)",
    "packing fraction": "structure packing fraction",
    "spacegroup_num": "structure space group number",
    "crystal_system_int": "structure crystal system (int)",
    "is_centrosymmetric": "structure is centrosymmetric",
}
STRUCTURE_LABELS: list[str] = LI_SITE_LABELS + list(MATMINER_STRUCTURE_LABELS.values())


@lru_cache(maxsize=1)
def structure_featurizer() -> MultipleFeaturizer:
    """Return the structure block as one matminer ``MultipleFeaturizer``, built once per process.

    ``LiSiteFeaturizer``, then matminer's ``DensityFeatures`` split in two (``density`` works on disordered
    structures, ``vpa`` and ``packing fraction`` raise there) and ``GlobalSymmetryFeatures`` (spacegroup_num,
    crystal_system_int, is_centrosymmetric; spglib treats each distinct site occupancy as its own species).
    Its labels are matminer's; the structure block's columns are :data:`STRUCTURE_LABELS`, named with
    :data:`MATMINER_STRUCTURE_LABELS`. One instance serves the whole process (the featurizers keep no state
    between structures).

    Returns
    -------
    matminer.featurizers.base.MultipleFeaturizer
        The featurizer, set to one job.
    """
    from matminer.featurizers.structure import DensityFeatures, GlobalSymmetryFeatures

    featurizer = MultipleFeaturizer([
        LiSiteFeaturizer(),
        DensityFeatures(desired_features=["density"]),
        DensityFeatures(desired_features=["vpa", "packing fraction"]),
        GlobalSymmetryFeatures(desired_features=["spacegroup_num", "crystal_system_int", "is_centrosymmetric"]),
    ])
    featurizer.set_n_jobs(1)
    return featurizer


def featurize_structure(structure) -> list[float]:
    """Return the structure block for one structure.

    Parameters
    ----------
    structure : pymatgen.core.Structure
        The structure.

    Returns
    -------
    list of float
        The features, in :data:`STRUCTURE_LABELS` order (distances in Å, density in g/cm³, volume in Å³); NaN
        for the parts that fail.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = structure_featurizer().featurize_wrapper((structure,), ignore_errors=True)
    return [float(v) for v in values]


# ----------------------------------------------------------------------------------------------------------------
# Lattice columns

#: The cell descriptors, then the lattice constants (the OBELiX paper's forest reads the constants themselves).
CELL_LABELS: list[str] = ["crystal system (int)", "space group number", "cell volume (A^3)", "volume per atom (A^3)"]
LATTICE_CONSTANT_LABELS: list[str] = ["a (A)", "b (A)", "c (A)", "alpha (deg)", "beta (deg)", "gamma (deg)"]
LATTICE_LABELS: list[str] = CELL_LABELS + LATTICE_CONSTANT_LABELS
#: matminer GlobalSymmetryFeatures' numbering.
CRYSTAL_SYSTEM_INT = {"triclinic": 7, "monoclinic": 6, "orthorhombic": 5, "tetragonal": 4, "trigonal": 3,
                      "hexagonal": 2, "cubic": 1}
_SYSTEM_RANGES = [(2, "triclinic"), (15, "monoclinic"), (74, "orthorhombic"), (142, "tetragonal"), (167, "trigonal"),
                  (194, "hexagonal"), (230, "cubic")]


def crystal_system(space_group_number: float) -> str | None:
    """Return the crystal system of an International Tables space-group number.

    Parameters
    ----------
    space_group_number : float
        The number, 1–230.

    Returns
    -------
    str or None
        ``"triclinic"`` … ``"cubic"``; None for anything that is not a whole number from 1 to 230.
    """
    if not (isinstance(space_group_number, (int, float, np.number)) and math.isfinite(space_group_number)):
        return None
    number = int(space_group_number)
    if number != space_group_number or not 1 <= number <= 230:
        return None
    return next(name for top, name in _SYSTEM_RANGES if number <= top)


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


class LatticeFeaturizer(BaseFeaturizer):
    """Cell descriptors from a space-group number and lattice constants (no structure needed).

    Features: ``crystal system (int)`` (matminer's numbering: cubic 1 ... triclinic 7), ``space group number``,
    ``cell volume (A^3)``, ``volume per atom (A^3)`` (needs ``n_atoms``, the atoms per cell, e.g. from a CIF;
    partial occupancies summed) and the lattice constants ``a (A)`` ... ``gamma (deg)``. Missing values give
    NaN. Lengths the crystal system fixes are filled in when missing (b = a, c = a for cubic; b = a for
    tetragonal, trigonal and hexagonal), and so are the angles (90/90/90 for cubic, tetragonal and
    orthorhombic; 90/90/120 for hexagonal and for trigonal cells given in the hexagonal setting, a = b != c):
    sources often print only a and c. The featurizer has no parameters.
    """

    def __init__(self):
        pass

    def featurize(self, space_group_number: Any = math.nan, a: Any = math.nan, b: Any = math.nan,
                  c: Any = math.nan, alpha: Any = math.nan, beta: Any = math.nan, gamma: Any = math.nan,
                  n_atoms: Any = math.nan) -> list[float]:
        """Return the cell descriptors of one row.

        Parameters
        ----------
        space_group_number : float, optional
            International Tables number, 1–230.
        a, b, c : float, optional
            Lattice lengths, Å.
        alpha, beta, gamma : float, optional
            Lattice angles, degrees.
        n_atoms : float, optional
            Atoms per cell (partial occupancies summed), for the volume per atom.

        Returns
        -------
        list of float
            [crystal system (int), space group number, cell volume (Å³), volume per atom (Å³), a, b, c (Å),
            alpha, beta, gamma (degrees)], NaN where unknown.
        """
        number = _float(space_group_number)
        system = crystal_system(number)
        a, b, c, alpha, beta, gamma = (_float(v) for v in (a, b, c, alpha, beta, gamma))
        if system in ("cubic", "tetragonal", "trigonal", "hexagonal") and math.isnan(b):
            b = a
        if system == "cubic" and math.isnan(c):
            c = a
        if any(math.isnan(x) for x in (alpha, beta, gamma)):
            if system in ("cubic", "tetragonal", "orthorhombic"):
                alpha, beta, gamma = 90.0, 90.0, 90.0
            elif system == "hexagonal" or (system == "trigonal" and math.isclose(a, b) and not math.isclose(a, c)):
                alpha, beta, gamma = 90.0, 90.0, 120.0
        volume = _cell_volume(a, b, c, alpha, beta, gamma)
        n = _float(n_atoms)
        per_atom = volume / n if n > 0 else math.nan
        return [float(CRYSTAL_SYSTEM_INT[system]) if system else math.nan,
                number if system else math.nan, volume, per_atom, a, b, c, alpha, beta, gamma]

    def feature_labels(self) -> list[str]:
        """Return the feature labels, in order."""
        return list(LATTICE_LABELS)

    def citations(self) -> list[str]:
        """Return the BibTeX entry of the International Tables for Crystallography, Volume A."""
        return [_ITA_2016]

    def implementors(self) -> list[str]:
        """Return who implemented this featurizer."""
        return list(_IMPLEMENTORS)


def _cell_volume(a: float, b: float, c: float, alpha: float, beta: float, gamma: float) -> float:
    ca, cb, cg = (math.cos(math.radians(x)) for x in (alpha, beta, gamma))
    root = 1.0 - ca * ca - cb * cb - cg * cg + 2.0 * ca * cb * cg
    if not (a > 0 and b > 0 and c > 0) or not root > 0:
        return math.nan  # NaN inputs fail these comparisons too
    return a * b * c * math.sqrt(root)


__all__ = ["CELL_LABELS", "CRYSTAL_SYSTEM_INT", "LATTICE_CONSTANT_LABELS", "LATTICE_LABELS", "LI_SITE_LABELS",
           "LatticeFeaturizer", "LiSiteFeaturizer",
           "STRUCTURE_LABELS", "crystal_system", "featurize_structure",
           "structure_featurizer"]
