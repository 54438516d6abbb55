"""Feature names a chemist reads, and the groups SHAP attributions are summed over."""

from __future__ import annotations

import re

_STATS = {"mean": "mean", "avg_dev": "spread of", "maximum": "max", "minimum": "min", "range": "range of",
          "mode": "majority-element"}
_PROPERTIES = {
    "Electronegativity": "electronegativity", "CovalentRadius": "covalent radius", "GSvolume_pa": "elemental volume",
    "MendeleevNumber": "Mendeleev number", "AtomicWeight": "atomic weight", "Number": "atomic number",
    "Row": "periodic row", "Column": "periodic group", "MeltingT": "elemental melting point",
    "GSbandgap": "elemental band gap", "GSmagmom": "elemental magnetic moment",
    "SpaceGroupNumber": "elemental space group", "NValence": "valence electrons", "NUnfilled": "unfilled orbitals",
    "NsValence": "s valence electrons", "NpValence": "p valence electrons", "NdValence": "d valence electrons",
    "NfValence": "f valence electrons", "NsUnfilled": "unfilled s orbitals", "NpUnfilled": "unfilled p orbitals",
    "NdUnfilled": "unfilled d orbitals", "NfUnfilled": "unfilled f orbitals",
}
_MAGPIE = re.compile(r"^MagpieData (\w+) (\w+)$")
#: matminer ``ElementFraction`` columns are bare element symbols.
_ELEMENT = re.compile(r"^[A-Z][a-z]?$")
#: The element-amount columns ("La atoms per formula unit") read as they are; they share the element's SHAP group.
_AMOUNT = re.compile(r"^([A-Z][a-z]?) atoms per formula unit$")


def readable_name(feature: str) -> str:
    """Return a chemist's name for a feature column.

    Parameters
    ----------
    feature : str
        A feature column label.

    Returns
    -------
    str
        E.g. ``MagpieData mean Electronegativity`` → ``mean electronegativity``, ``Li`` → ``Li content``;
        names that already read well are returned unchanged.
    """
    match = _MAGPIE.match(feature)
    if match and match.group(1) in _STATS:
        return f"{_STATS[match.group(1)]} {_PROPERTIES.get(match.group(2), match.group(2))}"
    if re.fullmatch(r"\d+-norm", feature):
        return f"stoichiometry {feature}"
    if _ELEMENT.match(feature):
        return f"{feature} content"
    return feature


def absent_element(feature: str, value: float) -> str | None:
    """Return the element a feature says is absent, or None.

    Parameters
    ----------
    feature : str
        A feature column label (not its readable name).
    value : float
        The composition's value of it.

    Returns
    -------
    str or None
        The element symbol when the feature is an element's content (its fraction, ``X fraction`` or
        ``X atoms per formula unit``) and the value is 0, i.e. the composition has none of it.
    """
    if value != 0:
        return None
    if _ELEMENT.match(feature):
        return feature
    match = _AMOUNT.match(feature) or re.fullmatch(r"([A-Z][a-z]?) fraction", feature)
    return match.group(1) if match else None


def feature_group(feature: str) -> str:
    """Return the group a feature's SHAP attribution is summed into.

    Parameters
    ----------
    feature : str
        A feature column label (not its readable name).

    Returns
    -------
    str
        One group per elemental property across its statistics (every electronegativity statistic →
        ``electronegativity``), the stoichiometry norms together, the valence-orbital columns together, the
        synthesis routes together, an element's fraction and amount together (``S content``); other features
        are their own group.
    """
    match = _MAGPIE.match(feature)
    if match:
        return _PROPERTIES.get(match.group(2), match.group(2))
    if re.fullmatch(r"\d+-norm", feature):
        return "stoichiometry (number and balance of elements)"
    if "valence electrons" in feature and feature.startswith(("avg ", "frac ")):
        return "valence-orbital occupancy"
    if feature.startswith("route: "):
        return "synthesis route"
    if _ELEMENT.match(feature):
        return f"{feature} content"
    if _AMOUNT.match(feature):
        return f"{_AMOUNT.match(feature).group(1)} content"
    return feature


def feature_element(feature: str) -> str | None:
    """Return the element a composition column counts.

    Parameters
    ----------
    feature : str
        A feature column label.

    Returns
    -------
    str or None
        ``"S"`` for ``S`` or ``S atoms per formula unit``; None for any other feature.
    """
    if _ELEMENT.match(feature):
        return feature
    match = _AMOUNT.match(feature)
    return match.group(1) if match else None
