"""Charge-balanced doped compositions, built by pymatgen ``Composition`` arithmetic from oxidation states."""

from __future__ import annotations

from enum import Enum

from pymatgen.core import Composition, Element, Species

from mlsse.chemistry import formula_text, plausible_oxidation_states
from mlsse.errors import MlsseError

#: Amounts below this count as zero (formula units).
TOLERANCE = 1e-9


class DopingError(MlsseError):
    """A doping request that cannot be built (absent site, level too high, no charge balance).

    Parameters
    ----------
    message : str
        What is wrong, one line.
    field : str, optional
        The request's part it is about (``host``, ``site``, ``dopants``, ``levels``, ``compensation``,
        ``additive``, ``wt``, ``temperature_c``, ``group``, ``reference``), so a form can show the message beside it.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class Compensation(str, Enum):
    """How the charge a dopant brings is balanced."""

    li = "li"            # Li+ added (dopant more negative / less positive) or removed
    vacancy = "vacancy"  # anion vacancies (charge too negative) or vacancies on the doped cation site


def host_oxidation_states(host: Composition) -> dict[str, float]:
    """Return one oxidation state per element that makes a host neutral
    (:func:`~mlsse.chemistry.plausible_oxidation_states`: anions more electronegative than every cation, each
    element's most common states preferred).

    Parameters
    ----------
    host : pymatgen.core.Composition
        The host.

    Returns
    -------
    dict of str to float
        Element symbol → oxidation state, e.

    Raises
    ------
    DopingError
        If no such assignment exists.
    """
    states = plausible_oxidation_states(host)
    if states is None:
        raise DopingError(f"no charge-balanced oxidation states found for host "
                          f"{formula_text(host, pymatgen_order=True)}", field="host")
    return {symbol: float(q) for symbol, q in states.items()}


def dopant_species(dopant: str, site_charge: float) -> tuple[str, float]:
    """Return the element and oxidation state a dopant takes on a site.

    Given explicitly (``N3-``, ``Y3+``), the state must be one the element has. Given as an element, on a cation
    site it takes its highest common positive state: aliovalent dopants are chosen for the charge they bring
    (Ge⁴⁺ and Sb⁵⁺ on P⁵⁺, Te⁶⁺, Mo⁶⁺ and W⁶⁺ on Zr⁴⁺ in LLZO, Fe³⁺ on Li⁺); on an anion site its common
    negative state closest to the site's (N³⁻ on Cl⁻, Se²⁻ on S²⁻). :func:`other_common_states` lists what
    else the element commonly takes (Cr³⁺ rather than Cr⁶⁺ in LATP must be given explicitly).

    Parameters
    ----------
    dopant : str
        An element (``Ge``) or a species (``N3-``, ``Y3+``).
    site_charge : float
        Oxidation state of the site, e.

    Returns
    -------
    symbol : str
        The dopant's element.
    charge : float
        Its oxidation state, e.

    Raises
    ------
    DopingError
        For an unknown dopant, a state the element does not have, or an element with no common state of the
        site's sign.
    """
    anion = site_charge < 0
    try:
        if dopant[-1] in "+-":
            species = Species.from_str(dopant)
            if species.oxi_state not in species.element.oxidation_states:
                raise DopingError(f"{species.symbol} has no {species.oxi_state:+g} oxidation state (it has "
                                  f"{', '.join(f'{q:+d}' for q in species.element.oxidation_states)})", field="dopants")
            return species.symbol, float(species.oxi_state)
        element = Element(dopant)
    except (ValueError, KeyError):
        raise DopingError(f"unknown dopant {dopant!r}", field="dopants") from None
    states = _common_states(element, anion)
    if not states:
        kind, other = ("an anion", "a cation") if anion else ("a cation", "an anion")
        rare = [q for q in element.oxidation_states if (q < 0) == anion and q != 0]
        # Suggest an explicit state only where the element has one of that sign at all (never Sc3-).
        hint = (f"; give {dopant}{abs(rare[0])}{'-' if anion else '+'} to mean its rare state" if rare
                else f": it does not go on {kind} site")
        raise DopingError(f"dopant {dopant} is {other}, not {kind}{hint}", field="dopants")
    return element.symbol, float(min(states, key=lambda q: abs(q - site_charge)) if anion else max(states))


def other_common_states(dopant: str, site_charge: float, chosen: float) -> list[float]:
    """Return the other common oxidation states a dopant given as an element could take on a site.

    Parameters
    ----------
    dopant : str
        An element or a species.
    site_charge : float
        Oxidation state of the site, e.
    chosen : float
        The state :func:`dopant_species` chose, e.

    Returns
    -------
    list of float
        The common states of the site's sign other than ``chosen``; empty for an explicit species such as
        ``Cr3+``.
    """
    if dopant[-1] in "+-":
        return []
    return [float(q) for q in _common_states(Element(dopant), site_charge < 0) if q != chosen]


def _common_states(element: Element, anion: bool) -> list[int]:
    return [q for q in (element.common_oxidation_states or element.oxidation_states) if (q < 0) == anion and q != 0]


def species_label(symbol: str, charge: float) -> str:
    """Return a species as chemists write it.

    Parameters
    ----------
    symbol : str
        The element.
    charge : float
        Its oxidation state, e.

    Returns
    -------
    str
        E.g. ``Ge4+``, ``N3-``.
    """
    return str(Species(symbol, charge))


def dope(host: Composition | str, site: str, dopant: str, level: float,
         compensation: Compensation | str = Compensation.li) -> Composition:
    """Return ``host`` with ``level`` formula units of ``site`` replaced by ``dopant``, charge balanced.

    Li compensation: N³⁻ on Cl⁻ in Li2ZrCl6 gives Li(2+2x)ZrCl(6−x)N(x); M³⁺ on Zr⁴⁺ gives Li(2+x)Zr(1−x)M(x)Cl6;
    an isovalent dopant changes nothing else. Vacancy compensation removes host anions when the dopant leaves
    the formula too negative, and removes more of the site's cation when it leaves it too positive.

    Parameters
    ----------
    host : pymatgen.core.Composition or str
        The host.
    site : str
        The element whose site is doped.
    dopant : str
        An element or a species (:func:`dopant_species`).
    level : float
        Formula units of ``site`` replaced.
    compensation : Compensation or str, default Compensation.li
        How the charge the dopant brings is balanced.

    Returns
    -------
    pymatgen.core.Composition
        The doped composition, amounts below :data:`TOLERANCE` dropped.

    Raises
    ------
    DopingError
        For an absent site, a negative level or one beyond the site's amount, a dopant that cannot sit on the
        site (wrong sign, the host element itself, an element of the host of the other sign, or one the
        electronegativities rule out), or no charge balance.
    """
    host = host if isinstance(host, Composition) else Composition(host)
    compensation = Compensation(compensation)
    formula = formula_text(host, pymatgen_order=True)
    if site not in host.get_el_amt_dict():
        raise DopingError(f"site {site} is not in host {formula}", field="site")
    if level < 0:
        raise DopingError(f"level {level} is negative", field="levels")
    if level > host[site] + TOLERANCE:
        raise DopingError(f"level {level:g} exceeds the {host[site]:g} {site} per formula unit of {formula}",
                          field="levels")
    states = host_oxidation_states(host)
    site_charge = states[site]
    symbol, dopant_charge = dopant_species(dopant, site_charge)
    if (dopant_charge < 0) != (site_charge < 0):
        raise DopingError(f"{dopant} ({dopant_charge:+g}) cannot sit on the {site} site ({site_charge:+g})",
                          field="dopants")
    if symbol == site:
        raise DopingError(f"{dopant} on the {site} site is the host itself", field="dopants")
    if symbol in states and (states[symbol] < 0) != (site_charge < 0):
        kind = "an anion" if states[symbol] < 0 else "a cation"
        raise DopingError(f"{symbol} is {kind} of {formula}; it cannot also sit on the {site} site", field="dopants")
    # A halogen or chalcogen named for the cation site of a halide or chalcogenide of its own group (Br on Y in
    # Li3YCl6) is almost surely a wrong --site: as a cation it would be Br7+. Oxides and fluorides keep their
    # oxo-cations (Te6+ in LLZO, S6+ in Li4SiO4); an explicit species is taken as meant.
    anions = [Element(el) for el, q in states.items() if q < 0]
    dopant_element = Element(symbol)
    if (site_charge > 0 and dopant[-1] not in "+-" and dopant_element.group in (16, 17)
            and not {"O", "F"} & {el.symbol for el in anions}
            and dopant_element.group in {el.group for el in anions}):
        raise DopingError(f"{symbol} on the cation site {site} of {formula}, beside its anions of the same group, "
                          f"would be {species_label(symbol, dopant_charge)}: is --site right? (give "
                          f"{species_label(symbol, dopant_charge)} to mean it)", field="dopants")
    # As for the host (host_oxidation_states): every cation less electronegative than every anion.
    others = [Element(el) for el, q in states.items() if (q < 0) != (site_charge < 0)]
    bound = min(el.X for el in others) if site_charge > 0 else max(el.X for el in others)
    if (Element(symbol).X >= bound) if site_charge > 0 else (Element(symbol).X <= bound):
        kind, partner = ("cation", "anion") if site_charge > 0 else ("anion", "cation")
        raise DopingError(f"{symbol} (electronegativity {Element(symbol).X:g}) cannot be a {kind} beside the "
                          f"{partner}s of {formula}; is --site right?", field="dopants")
    doped = host - Composition({site: level}) + Composition({symbol: level}) if level > 0 else host
    excess = level * (dopant_charge - site_charge)  # charge the substitution adds, e
    if abs(excess) > TOLERANCE:
        doped = _compensate(doped, excess, compensation, site, states, formula)
    return Composition({el: amt for el, amt in doped.get_el_amt_dict().items() if amt > TOLERANCE})


def _compensate(doped: Composition, excess: float, compensation: Compensation, site: str,
                states: dict[str, float], formula: str) -> Composition:
    if compensation is Compensation.li:
        if "Li" not in states and excess > 0:
            raise DopingError(f"no Li in {formula} to remove for charge balance", field="compensation")
        change = Composition({"Li": abs(excess)})
        doped = doped + change if excess < 0 else _subtract(doped, change, formula)
        return doped
    if excess < 0:
        anions = [el for el, q in states.items() if q < 0]
        anion = max(anions, key=lambda el: doped[el])
        return _subtract(doped, Composition({anion: -excess / -states[anion]}), formula)
    if states[site] <= 0:
        raise DopingError(f"vacancy compensation of a positive excess on anion site {site} is not defined; use li",
                          field="compensation")
    return _subtract(doped, Composition({site: excess / states[site]}), formula)


def _subtract(doped: Composition, removed: Composition, formula: str) -> Composition:
    for el, amount in removed.get_el_amt_dict().items():
        if doped[el] + TOLERANCE < amount:
            raise DopingError(f"charge balance would need {amount:g} {el} removed from {formula}: not enough {el}",
                              field="compensation")
    return Composition({el: doped[el] - removed[el] for el in doped.get_el_amt_dict()})
