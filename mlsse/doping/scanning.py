"""Doping scans: candidate compositions for a host, predicted, ranked, and explained against the host."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsse.chemistry import echo, formula_text, parse_composition
from mlsse.data.schema import additive_problem
from mlsse.doping.substitution import (
    Compensation,
    DopingError,
    dopant_species,
    dope,
    host_oxidation_states,
    other_common_states,
    species_label,
)
from mlsse.errors import MlsseWarning
from mlsse.features import featurize_table
from mlsse.features.names import feature_element, readable_name
from mlsse.models.evidence import Z_80, evidence_key
from mlsse.models.series import atom_fractions, fraction_distance
from mlsse.temperature import log10_sigma_at, temperature_problem, warn_if_kelvin_like
from mlsse.workspace.registry import load_predictor

#: Most values one levels or wt% range may give: counted before any candidate is built, so that a tiny step
#: cannot fill the memory (a screen has its own bound on candidates, --max-candidates).
MAX_LEVELS = 10_000
#: Most candidates one doping scan (``mlsse dope``) predicts and explains; larger spaces are for ``mlsse screen``.
MAX_SCAN_CANDIDATES = 20_000
#: The ``dopant`` of a composite series without a dopant (the host at each additive share).
UNDOPED = "undoped"
#: How many SHAP features are listed as reasons, each way.
N_REASONS = 3


def parse_levels(spec: str, field: str = "levels") -> list[float]:
    """Parse dopant levels or wt% values from text.

    Parameters
    ----------
    spec : str
        ``start:stop:step`` (stop included) or a comma list.
    field : str, default "levels"
        What the values are (``"levels"``, ``"wt"``): named in an error's message and its
        :attr:`~mlsse.doping.substitution.DopingError.field`.

    Returns
    -------
    list of float
        The values, rounded to 10 decimals.

    Raises
    ------
    DopingError
        If the text is not such a range (step > 0, stop ≥ start, at most :data:`MAX_LEVELS` values) or list of
        finite numbers.
    """
    spec = spec.strip()
    try:
        if ":" in spec:
            start, stop, step = (float(part) for part in spec.split(":"))
            if not all(np.isfinite([start, stop, step])):
                raise ValueError
            # Said plainly: a zero step or a reversed range is a slip, not an unreadable text.
            if step <= 0:
                raise DopingError(f"{field} {echo(spec)}: the step is {step:g}; give a step > 0", field=field)
            if stop < start:
                raise DopingError(f"{field} {echo(spec)}: the range runs backwards ({start:g} to {stop:g}); give "
                                  "start ≤ stop", field=field)
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            if count > MAX_LEVELS:
                raise DopingError(f"{field} {echo(spec)}: {count:,} values, more than {MAX_LEVELS:,}; give a "
                                  "larger step", field=field)
            return [round(start + i * step, 10) for i in range(count)]
        levels = [round(float(part), 10) for part in spec.split(",") if part.strip()]
        if not levels or not all(np.isfinite(levels)):
            raise ValueError
        return levels
    except ValueError:
        raise DopingError(f"cannot read {field} {echo(spec)}: use start:stop:step (e.g. 0:0.3:0.05) or a list "
                          f"(0.05,0.1)", field=field) from None


def candidate_table(host: str, site: str, dopants: list[str], levels: list[float],
                    compensation: Compensation | str = Compensation.li, additive: str | None = None,
                    wt_pcts: list[float] | None = None) -> pd.DataFrame:
    """Return the candidate compositions of a doping scan, one row per (dopant, level, additive wt%).

    The undoped host (level 0) is included once per dopant so each curve starts at the host. A dopant given as
    an element that is also common in another oxidation state gets an ``MlsseWarning`` naming it.

    Parameters
    ----------
    host : str
        The host formula.
    site : str
        The element whose site is doped; blank, with no dopants, for a composite series alone (``additive``
        at each of ``wt_pcts``, ``dopant`` :data:`UNDOPED`).
    dopants : list of str or str
        Dopants (elements, or species such as ``N3-``), as a list or a comma-separated string.
    levels : list of float
        Dopant levels, per formula unit.
    compensation : Compensation or str, default Compensation.li
        How the charge is balanced (:func:`~mlsse.doping.substitution.dope`).
    additive : str, optional
        A composite additive's formula.
    wt_pcts : list of float, optional
        The additive's shares, wt%.

    Returns
    -------
    pandas.DataFrame
        ``host``, ``site``, ``dopant``, ``dopant_species`` (e.g. ``Ge4+``), ``level``, ``compensation``, the
        charge-balanced ``composition``, ``additive`` and ``additive_wt_pct``.

    Raises
    ------
    DopingError
        Before anything is predicted, for any impossible request: a bad host, no dopant, the same species
        twice, a level that is not a finite number, an additive without wt% or wt% without an additive, wt%
        outside [0, 100), or a doping :func:`~mlsse.doping.substitution.dope` cannot build.
    """
    import warnings

    try:
        host_comp = parse_composition(host)
    except ValueError as exc:
        raise DopingError(f"host: {exc}", field="host") from None
    if bool(additive) != bool(wt_pcts):
        raise DopingError("an additive needs its wt% values (--wt), and wt% values need an --additive", field="wt")
    for wt in wt_pcts or []:
        if (problem := additive_problem(additive or "", wt)) is not None:
            raise DopingError(problem, field="wt" if "wt%" in problem else "additive")
    if not all(np.isfinite(levels)):
        raise DopingError(f"levels must be finite numbers; got {levels}", field="levels")
    if isinstance(dopants, str):
        dopants = dopants.split(",")
    dopants = [d.strip() for d in (dopants or []) if d.strip()]
    if not site and not dopants and additive:
        # A composite series alone: the host at each additive share, one curve named for what it is.
        host_text = formula_text(host_comp, pymatgen_order=True)
        return pd.DataFrame([{"host": host_text, "site": "", "dopant": UNDOPED, "dopant_species": UNDOPED,
                              "level": 0.0, "compensation": Compensation(compensation).value,
                              "composition": host_text, "additive": additive, "additive_wt_pct": wt}
                             for wt in wt_pcts])
    if not site:
        raise DopingError("give --site and --dopants (or an --additive with --wt for a composite series alone)",
                          field="site")
    if not dopants:
        raise DopingError("no dopant given", field="dopants")
    site_charge = host_oxidation_states(host_comp).get(site) if site in host_comp.get_el_amt_dict() else None
    species = {}
    for dopant in dopants:
        symbol, charge = dopant_species(dopant, site_charge) if site_charge is not None else (dopant, 0.0)
        label = species_label(symbol, charge) if site_charge is not None else dopant
        if label in species:
            raise DopingError(f"dopants {species[label]!r} and {dopant!r} are the same species ({label})",
                              field="dopants")
        species[label] = dopant
        if site_charge is not None and (others := other_common_states(dopant, site_charge, charge)):
            warnings.warn(f"{dopant} on the {site} site taken as {label}; it is also common as "
                          f"{', '.join(species_label(symbol, q) for q in others)}: give e.g. "
                          f"{species_label(symbol, others[0])} for that", MlsseWarning, stacklevel=2)
    wt_values = wt_pcts if (additive and wt_pcts) else [np.nan]
    rows = []
    for label, dopant in species.items():
        for level in sorted(set([0.0, *levels])):
            composition = dope(host_comp, site, dopant, level, compensation)
            for wt in wt_values:
                rows.append({"host": formula_text(host_comp, pymatgen_order=True), "site": site, "dopant": dopant,
                             "dopant_species": label, "level": level,
                             "compensation": Compensation(compensation).value,
                             "composition": formula_text(composition, pymatgen_order=True),
                             "additive": additive or "", "additive_wt_pct": wt})
    return pd.DataFrame(rows)


def scan(host: str, site: str, dopants: list[str], levels: list[float] | str,
         compensation: Compensation | str = Compensation.li, additive: str | None = None,
         wt_pcts: list[float] | str | None = None, temperature_c: float | None = None, model=None) -> pd.DataFrame:
    """Predict and rank every candidate doping of a host, and say which features move each against the host.

    Parameters
    ----------
    host, site, dopants, compensation, additive
        As :func:`candidate_table`.
    levels : list of float or str
        Dopant levels per formula unit, or a ``start:stop:step`` string (:func:`parse_levels`).
    wt_pcts : list of float or str, optional
        The additive's shares (wt%), or a ``start:stop:step`` string.
    temperature_c : float, optional
        Also predict σ at this temperature, °C; checked as ``mlsse predict`` checks it.
    model : str or pathlib.Path, optional
        Model directory; default the active model.

    Returns
    -------
    pandas.DataFrame
        One row per candidate: :func:`candidate_table`'s columns; ``log10_sigma`` (25 °C, log10 S/cm) with
        ``log10_sigma_lo``/``log10_sigma_hi``, ``ea_eV`` with ``ea_lo``/``ea_hi`` (eV),
        ``sigma_S_cm``, ``p_sigma_below_detection``, ``in_domain`` and ``note``; the change versus the undoped
        host with paired 80 % intervals and the probability of beating it (:func:`versus_host`);
        ``relative_log10_sigma`` (the host's log10 σ plus the change: what the plot draws, log10 S/cm);
        ``measured_log10_sigma``, ``measured_papers`` and ``measured_references`` where the training data
        measured the composition; ``temperature_C`` and
        ``log10_sigma_at_T`` when ``temperature_c`` is given; ``rank`` (by the predicted change of σ versus the
        host, which the ranking member helps order; 1 = best), ``rank_in_dopant``,
        ``dopant_rank`` (dopants ordered by their best candidate), ``tied_with_best`` (the model cannot tell the
        candidate from the best one: their predicted changes differ by less than the paired half-width at their
        distance), and ``reasons_up`` / ``reasons_down``: the
        features whose SHAP contribution to log10 σ rose / fell most relative to the undoped host. Sorted by
        dopant rank, dopant, rank within the dopant and level.

    Raises
    ------
    DopingError
        For an impossible request (:func:`candidate_table`) or a temperature that cannot be predicted at.
    ModelError
        If the model is missing, damaged or incompatible.
    """
    if isinstance(levels, str):
        levels = parse_levels(levels)
    if isinstance(wt_pcts, str):
        wt_pcts = parse_levels(wt_pcts, field="wt")
    if isinstance(dopants, str):
        dopants = [d.strip() for d in dopants.split(",") if d.strip()]
    if temperature_c is not None:
        if (problem := temperature_problem(float(temperature_c))) is not None:
            raise DopingError(problem, field="temperature_c")
        warn_if_kelvin_like(temperature_c)
    count = max(1, len(dopants or [])) * max(1, len(levels)) * max(1, len(wt_pcts or []))
    if count > MAX_SCAN_CANDIDATES:
        raise DopingError(f"{count:,} candidates ({len(dopants)} dopants × {len(levels)} levels"
                          + (f" × {len(wt_pcts)} wt%" if wt_pcts else "") + f"), more than a scan's "
                          f"{MAX_SCAN_CANDIDATES:,}: use fewer levels, or 'mlsse screen' for a large space",
                          field="levels")
    candidates = candidate_table(host, site, dopants, levels, compensation, additive, wt_pcts)
    predictor = load_predictor(model)
    features = featurize_table(candidates[["composition", "additive", "additive_wt_pct"]])
    predicted = predictor.predict_features(features, compositions=candidates["composition"])
    out = pd.concat([candidates, predicted.drop(columns=["sigma_lo_S_cm", "sigma_hi_S_cm"])], axis=1)
    if temperature_c is not None:
        out["temperature_C"] = temperature_c
        out["log10_sigma_at_T"] = log10_sigma_at(out["log10_sigma"], out["ea_eV"], temperature_c)
    host = _host_row(out)
    # The paired interval widens with how many of the host's atoms a candidate exchanges; the host's rows (one
    # per dopant) are those that exchange none.
    distance = _distances_to(out, host)
    relative = predictor.relative_log10_sigma(features, out["log10_sigma"].to_numpy(dtype=float))
    out = out.join(versus_host(out.assign(relative=relative), distance == 0,
                               predictor.paired_half_width("log10_sigma", distance),
                               predictor.paired_half_width("ea_eV", distance)))
    # What the table, the CSV and the plot all show: the host's prediction moved by the ranking's change, so a
    # difference read off the plot is the table's Δ.
    out["relative_log10_sigma"] = out.at[host, "log10_sigma"] + out["delta_log10_sigma"]
    measured = _measured(predictor, out)
    out[measured.columns] = measured  # predict_features leaves them blank: it is not given evidence keys
    # Ranked by the change versus the host: the σ model's prediction with the ranking member's say.
    out["rank"] = out["delta_log10_sigma"].rank(ascending=False, method="min").astype(int)
    out["rank_in_dopant"] = out.groupby("dopant")["delta_log10_sigma"].rank(ascending=False,
                                                                            method="min").astype(int)
    best = out.groupby("dopant")["delta_log10_sigma"].max().rank(ascending=False, method="min").astype(int)
    out["dopant_rank"] = out["dopant"].map(best)
    out["tied_with_best"] = _tied_with_best(out, predictor)
    out["reasons_up"], out["reasons_down"] = reasons_against_host(predictor, features, host)
    return out.sort_values(["dopant_rank", "dopant", "rank_in_dopant", "level"], kind="stable").reset_index(drop=True)


def _measured(predictor, scan: pd.DataFrame) -> pd.DataFrame:
    """What the training data measured of each scanned composition (σ near room temperature: the median over
    papers, log10 S/cm; the number of papers; their spread, decades; up to three references), blank where never
    measured."""
    columns = ["measured_log10_sigma", "measured_papers", "measured_spread_log10", "measured_references"]
    if predictor.measured is None:
        return pd.DataFrame({"measured_log10_sigma": np.nan, "measured_papers": 0, "measured_spread_log10": np.nan,
                             "measured_references": ""}, index=scan.index)
    keys = [evidence_key(c, a, w) for c, a, w in zip(scan["composition"], scan["additive"],
                                                      scan["additive_wt_pct"])]
    records = predictor.measured.records(keys)[columns]
    records.index = scan.index
    return records


def _tied_with_best(scan: pd.DataFrame, predictor) -> np.ndarray:
    """Whether each candidate's predicted change lies within the paired 80 % half-width (at its distance to the best
    candidate) of the best's: candidates the model cannot tell from the best (the best itself is not)."""
    delta = scan["delta_log10_sigma"].to_numpy(dtype=float)
    if np.isnan(delta).all():
        return np.zeros(len(scan), dtype=bool)
    best = scan.index[np.nanargmax(delta)]
    width = predictor.paired_half_width("log10_sigma", _distances_to(scan, best))
    with np.errstate(invalid="ignore"):
        return (scan.at[best, "delta_log10_sigma"] - delta < width) & (scan.index != best)


def reasons_against_host(predictor, features: pd.DataFrame, host) -> tuple[list[str], list[str]]:
    """Return, per row of a feature table, the features whose SHAP contribution to log10 σ rose and fell most
    against the ``host`` row, among the features the row or the host has (:data:`N_REASONS` each way).

    Parameters
    ----------
    predictor : Predictor
        The model.
    features : pandas.DataFrame
        Feature table of the candidates and the host.
    host
        The index label of the host's row.

    Returns
    -------
    reasons_up, reasons_down : list of str
        Per row, ``"name +0.12; name +0.05"`` (log10 S/cm), ``""`` for none.
    """
    contributions = predictor.explain_features(features).drop(columns="bias")
    told = _describing_features(features.reindex(columns=contributions.columns), host)
    up, down = [], []
    for i in features.index:
        delta = (contributions.loc[i] - contributions.loc[host])[told.loc[i].to_numpy()].rename(readable_name)
        delta = delta.sort_values(kind="stable")
        up.append("; ".join(f"{name} {value:+.2f}" for name, value in delta[::-1][:N_REASONS].items() if value > 1e-6))
        down.append("; ".join(f"{name} {value:+.2f}" for name, value in delta[:N_REASONS].items() if value < -1e-6))
    return up, down


def _describing_features(features: pd.DataFrame, host) -> pd.DataFrame:
    """Per candidate (row of ``features``) and feature, whether the feature says something about the candidate or
    the ``host`` row: its value is known in either, and an element's content or amount column belongs to an element
    of either. The reasons name only these, so a chloride's reasons never cite its S content."""
    known = features.notna() | features.loc[host].notna().to_numpy()[None, :]
    for column in features.columns:
        if feature_element(column) is not None:
            known[column] &= (features[column].fillna(0) != 0) | (features.at[host, column] != 0)
    return known


#: z of the normal distribution's 90th percentile: an 80 % interval's half-width over this is its standard deviation.


def _host_row(scan: pd.DataFrame):
    """The index of the undoped host in a scan: level 0, and no (or the least) additive."""
    undoped = scan[scan["level"] == 0]
    wt = undoped["additive_wt_pct"].fillna(-1.0)
    return wt.idxmin() if len(undoped) else scan.index[0]


def probability_beats_host(delta, paired_half_width) -> np.ndarray:
    """Return the probability that a candidate's σ is above its host's: its predicted change ``delta`` (log10
    S/cm) read as normal with the spread of its paired 80 % interval (``paired_half_width`` / 1.2816)."""
    from scipy.special import ndtr

    return ndtr(np.asarray(delta, dtype=float) / (np.asarray(paired_half_width, dtype=float) / Z_80))


def _distances_to(scan: pd.DataFrame, host) -> np.ndarray:
    """The distance of each candidate of ``scan`` to the row ``host`` (the fraction of atoms exchanged, a
    composite's additive included: :func:`~mlsse.models.series.member_pairs`), once per distinct candidate."""
    members = scan[["composition", "additive", "additive_wt_pct"]].fillna({"additive": "", "additive_wt_pct": 0.0})
    keys = list(members.itertuples(index=False, name=None))
    reference = atom_fractions(*members.loc[host])
    distance = {key: fraction_distance(atom_fractions(*key), reference) for key in dict.fromkeys(keys)}
    return np.array([distance[key] for key in keys], dtype=float)


def versus_host(scan: pd.DataFrame, is_host, sigma_half_width, ea_half_width) -> pd.DataFrame:
    """Each candidate's predicted change versus the host (the rows ``is_host`` of ``scan``), with paired 80 %
    intervals.

    Parameters
    ----------
    scan : pandas.DataFrame
        Predictions with ``relative`` (the log10 σ at 25 °C by which members of a series compare, log10 S/cm:
        :meth:`~mlsse.models.predictor.Predictor.relative_log10_sigma`) and ``ea_eV`` (eV).
    is_host : array of bool
        Which rows are the host (at least one).
    sigma_half_width, ea_half_width : float or array of float
        Half-widths of the paired interval of a difference within a doping series, one or one per row (log10
        S/cm, eV;
        :meth:`~mlsse.models.predictor.Predictor.paired_half_width`).

    Returns
    -------
    pandas.DataFrame
        ``delta_log10_sigma`` with ``delta_log10_sigma_lo``/``_hi``, ``delta_ea_eV`` with ``delta_ea_lo``/``_hi``,
        ``p_beats_host`` (the probability that the candidate's σ is above the host's, the difference taken as
        normal around the prediction with the paired interval's spread), and ``versus_host``: ``higher σ`` or
        ``lower σ`` when the paired interval excludes no change, else ``cannot tell``; ``host`` for the host.
    """
    is_host = np.asarray(is_host, dtype=bool)
    host = scan.index[is_host][0]
    delta = scan["relative"] - scan.at[host, "relative"]
    delta_ea = scan["ea_eV"] - scan.at[host, "ea_eV"]
    out = pd.DataFrame({
        "delta_log10_sigma": delta, "delta_log10_sigma_lo": delta - sigma_half_width,
        "delta_log10_sigma_hi": delta + sigma_half_width,
        "delta_ea_eV": delta_ea, "delta_ea_lo": delta_ea - ea_half_width, "delta_ea_hi": delta_ea + ea_half_width,
        "p_beats_host": probability_beats_host(delta, sigma_half_width),
    }, index=scan.index)
    out["versus_host"] = np.where(out["delta_log10_sigma_lo"] > 0, "higher σ",
                                  np.where(out["delta_log10_sigma_hi"] < 0, "lower σ", "cannot tell"))
    out.loc[is_host, ["delta_log10_sigma_lo", "delta_log10_sigma_hi", "delta_ea_lo", "delta_ea_hi"]] = 0.0
    out.loc[is_host, "p_beats_host"] = np.nan
    out.loc[is_host, "versus_host"] = "host"
    return out
