"""The composition blocks as featurizers with matminer's contract (featurize, feature_labels, citations,
implementors), so they compose with matminer's own and with ``MultipleFeaturizer``.

They compute with the kernels of :mod:`mlsse.features.composition` and their arguments are the preset's settings
(:class:`~mlsse.features.preset.CompositionOptions`), so a featurizer here with its defaults and
:func:`mlsse.features.featurize_compositions` always agree.
"""

from __future__ import annotations

from typing import Any

from matminer.featurizers.base import BaseFeaturizer

from mlsse.features.composition import (
    featurize_one,
)
from mlsse.features.preset import BLOCK_LABELS, PRESET_OPTIONS, CompositionOptions

WARD_2016 = (
    "@article{ward_agrawal_choudary_wolverton_2016, title={A general-purpose machine learning framework for "
    "predicting properties of inorganic materials}, volume={2}, DOI={10.1038/npjcompumats.2017.28}, number={1}, "
    "journal={npj Computational Materials}, author={Ward, Logan and Agrawal, Ankit and Choudhary, Alok and "
    "Wolverton, Christopher}, year={2016}}"
)
_DEML_2016 = (
    "@article{deml_ohayre_wolverton_stevanovic_2016, title={Predicting density functional theory total energies "
    "and enthalpies of formation of metal-nonmetal compounds by linear regression}, volume={93}, "
    "DOI={10.1103/PhysRevB.93.085142}, journal={Physical Review B}, author={Deml, Ann M. and O'Hayre, Ryan and "
    "Wolverton, Chris and Stevanovic, Vladan}, year={2016}}"
)
_SHANNON_1976 = (
    "@article{shannon_1976, title={Revised effective ionic radii and systematic studies of interatomic distances "
    "in halides and chalcogenides}, volume={32}, DOI={10.1107/S0567739476001551}, number={5}, "
    "journal={Acta Crystallographica Section A}, author={Shannon, R. D.}, year={1976}, pages={751--767}}"
)
IMPLEMENTORS = ["mlsse developers"]


class LiElectrolyteFeaturizer(BaseFeaturizer):
    """Lithium and anion descriptors of a composition, for Li-ion conductors.

    Features (see :data:`mlsse.features.preset.LITHIUM_LABELS`):

    - ``Li fraction``: atomic fraction of Li.
    - ``Li per formula unit``: Li amount in pymatgen's reduced composition (Li4O2 -> 2; a fractional formula is not
      reduced, so Li0.5O0.25 -> 0.5: this one depends on how the formula is written).
    - ``Li per anion``: Li amount over the total anion amount (NaN without anions).
    - ``N/O/S/Se/F/Cl/Br/I/H fraction``: atomic fractions of the anion-forming elements.
    - ``anion species count`` (mixed-anion count) and ``non-Li cation species count`` (mixed-cation count).
    - ``mean anion polarizability (A^3)``: anion-amount-weighted mean of matminer's DemlData ``electric_pol``
      (CRC neutral-atom dipole polarizabilities, 1e-24 cm^3 = A^3).
    - ``mean anion radius (A)``: same weighting of Shannon radii, pymatgen ``Species(symbol, charge).ionic_radius``
      with N3-, O2-, S2-, Se2-, F-, Cl-, Br-, I-, H-.

    Anions are the elements of :data:`mlsse.features.preset.ANIONS` by convention (not from oxidation states);
    H is a hydride anion only without O (with O it is taken as OH-/H2O and counted as neither). H has neither a
    DemlData polarizability nor a Shannon radius: the two means use the anions that have one (NaN if none).
    The featurizer has no parameters.
    """

    def __init__(self):
        pass

    def featurize(self, comp: Any) -> list[float]:
        """Return the Li/anion features of one composition.

        Parameters
        ----------
        comp : str or pymatgen.core.Composition
            A formula or composition.

        Returns
        -------
        list of float
            The features, in :meth:`feature_labels` order (polarizability in Å³, radius in Å).

        Raises
        ------
        DataError
            If the composition is unusable.
        """
        return featurize_one(comp, ["lithium"])

    def feature_labels(self) -> list[str]:
        """Return the feature labels, in order."""
        return list(BLOCK_LABELS["lithium"])

    def citations(self) -> list[str]:
        """Return BibTeX entries of the data sources (DemlData polarizabilities, Shannon radii)."""
        return [_DEML_2016, _SHANNON_1976]

    def implementors(self) -> list[str]:
        """Return who implemented this featurizer."""
        return list(IMPLEMENTORS)


class OxidationStateFeaturizer(BaseFeaturizer):
    """matminer ``IonProperty``'s three features, bounded so fractional formulas never hang or crash.

    - ``compound possible``: 1 if the element amounts can be charge balanced with the oxidation states matminer's
      IonProperty uses (pymatgen ``common_oxidation_states``, falling back to ``icsd_oxidation_states``), 0 if not,
      NaN if the search was not possible. For integer formulas this is exactly matminer's
      ``len(comp.oxi_state_guesses(oxi_states_override=...)) > 0``; fractional formulas (where matminer raises) are
      scaled to their smallest integer multiple (amounts rounded to fractions with denominator
      <= ``max_denominator``); NaN when that has more than ``max_sites`` atoms. A single element gives 1, as in
      matminer.
    - ``max ionic char``, ``avg ionic char``: as matminer, from pymatgen Pauling electronegativities.
    - ``oxidation states guessed``: 1 if a charge-balanced assignment was found, else 0 (impossible or not
      searched).

    The search does not call pymatgen's ``oxi_state_guesses``: that enumerates every multiset of oxidation states
    per element and scores each, which grows combinatorially for fractional formulas scaled to integers (e.g.
    Cl117 with Cl's five common states). The same yes/no question is answered exactly from the bounds of the
    total charge and, where zero lies strictly inside them, a bitset of the reachable totals between the nearer
    bound and zero (:func:`mlsse.chemistry.charge_balance_arrays`).

    Parameters
    ----------
    max_sites : int, default PRESET_OPTIONS.max_sites
        The search is skipped (NaN) when the smallest integer multiple of a formula has more atoms than this.
    max_denominator : int, default PRESET_OPTIONS.max_denominator
        Fractional amounts are rounded to fractions with denominators up to this.
    """

    def __init__(self, max_sites: int = PRESET_OPTIONS.max_sites,
                 max_denominator: int = PRESET_OPTIONS.max_denominator):
        self.max_sites = max_sites
        self.max_denominator = max_denominator

    def featurize(self, comp: Any) -> list[float]:
        """Return the ionic features of one composition.

        Parameters
        ----------
        comp : str or pymatgen.core.Composition
            A formula or composition.

        Returns
        -------
        list of float
            [compound possible, max ionic char, avg ionic char, oxidation states guessed].

        Raises
        ------
        DataError
            If the composition is unusable.
        """
        return featurize_one(comp, ["ionic"], CompositionOptions(self.max_sites, self.max_denominator))

    def feature_labels(self) -> list[str]:
        """Return the feature labels, in order."""
        return list(BLOCK_LABELS["ionic"])

    def citations(self) -> list[str]:
        """Return the BibTeX entry of matminer's ``IonProperty`` features (Ward et al. 2016)."""
        return [WARD_2016]

    def implementors(self) -> list[str]:
        """Return who implemented this featurizer."""
        return list(IMPLEMENTORS)


__all__ = ["LiElectrolyteFeaturizer", "OxidationStateFeaturizer"]
