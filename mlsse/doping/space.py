"""The doping space of a screen: which hosts, sites, dopants, levels and compensations, read from a TOML or YAML
file or given as a mapping, numbered once (sweep by sweep, levels in order) and built a chunk of candidates at a
time (:func:`chunk_candidates`)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pymatgen.core import Composition

from mlsse.chemistry import formula_text, parse_composition
from mlsse.doping.scanning import parse_levels
from mlsse.doping.substitution import (
    Compensation,
    DopingError,
    dopant_species,
    dope,
    host_oxidation_states,
    species_label,
)
from mlsse.errors import DataError

#: The columns describing a candidate, before the prediction columns.
CANDIDATE_COLUMNS = ["host", "site", "dopant", "dopant_species", "level", "compensation", "composition"]


@dataclass(frozen=True)
class DopantSweep:
    """One host, site, dopant species and compensation, doped at each of ``levels``.

    Attributes
    ----------
    host : str
        The host formula, as pymatgen writes it.
    site : str
        The element whose site is doped.
    dopant : str
        The dopant as asked (an element or a species).
    species : str
        The species it is taken as (``Ge4+``).
    compensation : str
        ``li`` or ``vacancy``.
    levels : tuple of float
        Dopant levels per formula unit, each above 0.
    """

    host: str
    site: str
    dopant: str
    species: str
    compensation: str
    levels: tuple[float, ...]


@dataclass
class ScreenSpec:
    """A doping space: its sweeps, the ones refused and why, and how it is numbered into candidates.

    Attributes
    ----------
    sweeps : list of DopantSweep
        The sweeps that can be built, in order.
    refused : list of str
        Per sweep that cannot (a dopant that cannot sit on a site, a host without charge balance), why.
    """

    sweeps: list[DopantSweep]
    refused: list[str] = field(default_factory=list)

    @property
    def n_candidates(self) -> int:
        """Number of candidates: the levels of every sweep (some may be refused at their level)."""
        return sum(len(s.levels) for s in self.sweeps)

    @property
    def hosts(self) -> list[str]:
        """The hosts, in order."""
        return list(dict.fromkeys(s.host for s in self.sweeps))


def build_spec(hosts: dict[str, dict[str, list[str]]], levels, compensations=("li",), *,
               absent_sites: str = "refuse") -> ScreenSpec:
    """Return the doping space of hosts, their sites and the dopants of each site.

    Parameters
    ----------
    hosts : dict
        Host formula → {site element → dopants (elements or species such as ``N3-``)}.
    levels : str or list of float
        Dopant levels per formula unit (``start:stop:step`` or a list); 0 is left out (the host itself).
    compensations : sequence of str, default ("li",)
        ``li`` and/or ``vacancy``.
    absent_sites : {"refuse", "skip"}, default "refuse"
        A site the host does not have: listed among the refused sweeps, or passed over (one list of sites for
        several hosts).

    Returns
    -------
    ScreenSpec
        The sweeps, and each sweep that cannot be built with its reason.

    Raises
    ------
    DopingError
        For levels that cannot be read, an unknown compensation, no host, or a host formula that does not parse.
    """
    levels = parse_levels(levels) if isinstance(levels, str) else [float(x) for x in levels]
    levels = tuple(sorted({round(x, 10) for x in levels if x > 0}))
    if not levels or not all(np.isfinite(levels)):
        raise DopingError("give at least one finite dopant level above 0", field="levels")
    try:
        compensations = [Compensation(c).value for c in compensations]
    except ValueError:
        raise DopingError(f"compensation must be li or vacancy; got {list(compensations)}",
                          field="compensation") from None
    if not hosts:
        raise DopingError("no host given", field="host")
    sweeps, refused, present = [], [], set()
    for host, sites in hosts.items():
        try:
            host_comp = parse_composition(host)
        except ValueError as exc:
            raise DopingError(f"host: {exc}", field="host") from None
        name = formula_text(host_comp, pymatgen_order=True)
        try:
            states = host_oxidation_states(host_comp)
        except DopingError as exc:
            refused.append(f"{name}: {exc}")
            continue
        present |= set(states) & set(sites)
        for site, dopants in sites.items():
            if site not in states:
                if absent_sites != "skip":
                    refused.append(f"{name}: site {site} is not in the host")
                continue
            for dopant in dopants:
                for compensation in compensations:
                    try:  # the sweep's own problems show at its smallest level (wrong sign, same element, ...)
                        dope(host_comp, site, dopant, levels[0], compensation)
                        symbol, charge = dopant_species(dopant, states[site])
                    except DopingError as exc:
                        refused.append(f"{name}, {dopant} on {site} ({compensation}): {exc}")
                        continue
                    sweeps.append(DopantSweep(name, site, dopant, species_label(symbol, charge), compensation, levels))
    if absent_sites == "skip":  # a site skipped in every host is a slip (Q for Cl), not a choice: name it
        for site in sorted({site for sites in hosts.values() for site in sites} - present):
            refused.append(f"site {site} is in none of the hosts ({', '.join(hosts)})")
    return ScreenSpec(sweeps, refused)


def read_spec(path: str | Path) -> ScreenSpec:
    """Read a doping space from a TOML or YAML file.

    The file gives ``levels`` (``"0.01:0.5:0.01"`` or a list), optionally ``compensation`` (a name or a list)
    and a list ``hosts`` of ``{formula = "Li3YCl6", sites = {Y = ["Sc", "In"], Cl = ["Br"]}}``::

        levels = "0.01:0.5:0.01"
        compensation = ["li", "vacancy"]
        [[hosts]]
        formula = "Li3YCl6"
        sites = { Y = ["Sc", "In", "Zr"], Cl = ["Br", "I"] }

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.toml``, ``.yaml`` or ``.yml`` file.

    Returns
    -------
    ScreenSpec
        As :func:`build_spec`.

    Raises
    ------
    DataError
        If the file cannot be read or does not have that shape.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            raise DataError("give a .toml, .yaml or .yml file", path=path)
    except (ValueError, UnicodeDecodeError) as exc:  # tomllib and yaml raise ValueError subclasses
        raise DataError(f"cannot read it ({exc})".replace("\n", " "), path=path) from None
    except Exception as exc:  # noqa: BLE001 - yaml.YAMLError is not a ValueError
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read it ({type(exc).__name__}: {exc})".replace("\n", " "), path=path) from None
    try:
        hosts = {str(h["formula"]): {str(site): _names(dopants) for site, dopants in h["sites"].items()}
                 for h in data["hosts"]}
        levels = data["levels"]
        compensation = data.get("compensation", ["li"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"expected 'levels' and a list 'hosts' of {{formula, sites}} ({type(exc).__name__}: "
                        f"{exc})", path=path) from None
    return build_spec(hosts, levels if isinstance(levels, str) else list(levels),
                      [compensation] if isinstance(compensation, str) else list(compensation))


def _names(value) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else [str(v) for v in value]


def chunk_candidates(spec: ScreenSpec, chunk: int, chunk_rows: int) -> pd.DataFrame:
    """Return the candidates of one chunk of a doping space, charge balanced; those ``dope`` refuses at their
    level (too much Li removed, a level beyond the site's amount) are left out.

    Parameters
    ----------
    spec : ScreenSpec
        The doping space.
    chunk : int
        The chunk, 0-based: candidates ``chunk · chunk_rows`` to ``(chunk + 1) · chunk_rows − 1``.
    chunk_rows : int
        Candidates per chunk.

    Returns
    -------
    pandas.DataFrame
        :data:`CANDIDATE_COLUMNS`, one row per candidate built, in candidate order.
    """
    start, stop = chunk * chunk_rows, min((chunk + 1) * chunk_rows, spec.n_candidates)
    rows = []
    offset = 0
    for sweep in spec.sweeps:
        first, last = max(start - offset, 0), min(stop - offset, len(sweep.levels))
        offset += len(sweep.levels)
        if first >= last:
            continue
        host = Composition(sweep.host)
        for level in sweep.levels[first:last]:
            try:
                composition = dope(host, sweep.site, sweep.dopant, level, sweep.compensation)
            except DopingError:
                continue
            rows.append((sweep.host, sweep.site, sweep.dopant, sweep.species, level, sweep.compensation,
                         formula_text(composition, pymatgen_order=True)))
        if offset >= stop:
            break
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)
