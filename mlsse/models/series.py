"""Doping series: the members of one family that one paper measured, and how well a model orders them.

A chemist uses mlsse to choose which member of a family to make next, so what matters is the differences *within*
a series more than the absolute level: a lab's offset (its pellets, its cell, its definition of σ) is shared by
every member of its series and cancels out of a comparison between them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsse.chemistry import composition_key, parse_composition
from mlsse.models.conformal import conformal_quantile

#: A series has at least this many distinct members (compositions, or composites of one composition).
MIN_SERIES_MEMBERS = 3


def doping_series(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the doping series in room-temperature σ rows, one row per member.

    A series is a set of members one paper measured whose element sets are the series' core set or differ from
    it by one element (a dopant added, or a host element gone): the host, its doped forms, and series such as
    Li2+2xZrCl6−xNx. The core is the element set most members share; a paper's members are linked when their
    element sets differ by at most one element, and each linked set is one series (members more than one element
    from its core are left out). A member is a composition up to scaling together with its additive and wt%
    (a composite series has one composition), its measured log10 σ the median of its rows. Censored rows are
    left out. Series with fewer than :data:`MIN_SERIES_MEMBERS` members are dropped.

    Parameters
    ----------
    rows : pandas.DataFrame
        Training rows of log10 σ (:func:`~mlsse.models.targets.sigma_training_rows`): ``composition``,
        ``target`` (log10 S/cm, or Ea in eV for Ea rows), ``group`` (paper), and optionally ``censored``,
        ``additive``, ``additive_wt_pct``.

    Returns
    -------
    pandas.DataFrame
        ``series`` (an id: the paper and a number), ``group``, ``composition``, ``additive``,
        ``additive_wt_pct``, ``measured`` (log10 S/cm), ``rows`` (the positions in ``rows`` merged into the
        member), ordered by series, then measured σ.
    """
    work = pd.DataFrame({
        "position": np.arange(len(rows)),
        "group": rows["group"].astype(str).to_numpy(),
        "composition": rows["composition"].astype(str).to_numpy(),
        "key": [composition_key(c) for c in rows["composition"]],
        "additive": (rows["additive"].fillna("").astype(str).to_numpy() if "additive" in rows
                     else np.full(len(rows), "")),
        "additive_wt_pct": (pd.to_numeric(rows["additive_wt_pct"], errors="coerce").fillna(0.0).to_numpy()
                            if "additive_wt_pct" in rows else np.zeros(len(rows))),
        "target": rows["target"].to_numpy(dtype=float),
    })
    if "censored" in rows:
        work = work[~rows["censored"].fillna(False).astype(bool).to_numpy()]
    members = (work.groupby(["group", "key", "additive", "additive_wt_pct"], sort=True)
               .agg(composition=("composition", "first"), measured=("target", "median"),
                    rows=("position", list)).reset_index())
    members["elements"] = [frozenset(el.symbol for el in parse_composition(c).elements)
                           for c in members["composition"]]
    found = []
    for group, paper in members.groupby("group", sort=True):
        if len(paper) < MIN_SERIES_MEMBERS:
            continue
        for number, series in enumerate(_linked_sets(paper)):
            series = series.assign(series=f"{group} #{number + 1}")
            found.append(series)
    if not found:
        return pd.DataFrame(columns=["series", "group", "composition", "additive", "additive_wt_pct", "measured",
                                     "rows"])
    out = pd.concat(found, ignore_index=True)
    out = out.sort_values(["series", "measured"], kind="stable").reset_index(drop=True)
    return out[["series", "group", "composition", "additive", "additive_wt_pct", "measured", "rows"]]


def _linked_sets(paper: pd.DataFrame) -> list[pd.DataFrame]:
    """The series of one paper's members: linked sets (element sets at most one element apart) trimmed to the
    members within one element of the set's most common element set, when at least MIN_SERIES_MEMBERS remain."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    elements = paper["elements"].tolist()
    n = len(elements)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if len(elements[i] ^ elements[j]) <= 1]
    rows, cols = zip(*pairs) if pairs else ((), ())
    _, label = connected_components(coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n, n)), directed=False)
    series = []
    for component in np.unique(label):
        part = paper[label == component]
        core = part["elements"].value_counts().index[0]
        part = part[[len(e ^ core) <= 1 for e in part["elements"]]]
        if len(part) >= MIN_SERIES_MEMBERS:
            series.append(part)
    return series


def member_values(series: pd.DataFrame, per_row) -> np.ndarray:
    """Return one value per series member: the median of ``per_row`` (one value per row of the rows the series
    were found in) over the member's rows."""
    per_row = np.asarray(per_row, dtype=float)
    return np.array([np.median(per_row[positions]) for positions in series["rows"]])


def series_scores(series: pd.DataFrame, predicted) -> pd.DataFrame:
    """Score how well ``predicted`` (one value per member, log10 S/cm) orders each series.

    Returns one row per series: ``n`` members; ``spearman`` ρ between predicted and measured (NaN when either is
    constant); ``top1`` (1.0 when the member predicted best is a measured best, ties counting as hits; NaN when the
    prediction ties at its top); ``chance`` (1/n: the top-1 rate of a random pick); ``pairs_right`` (the fraction
    of pairs with different measured σ that the prediction orders the same way; ties in the prediction count
    half); ``offset_free_mae`` (MAE after each series' mean is taken from both) and ``flat_mae`` (the same for
    predicting no difference within the series); ``predicted_spread`` and ``measured_spread`` (standard
    deviations).
    """
    from scipy.stats import spearmanr

    frame = series.assign(predicted=np.asarray(predicted, dtype=float))
    scores = []
    for name, part in frame.groupby("series", sort=False):
        y, p = part["measured"].to_numpy(), part["predicted"].to_numpy()
        n = len(y)
        constant = np.ptp(y) == 0 or np.ptp(p) == 0
        top = p == p.max()
        i, j = np.triu_indices(n, 1)
        differ = y[i] != y[j]
        agree = np.sign(p[i] - p[j]) * np.sign(y[i] - y[j])
        scores.append({
            "series": name, "n": n,
            "spearman": np.nan if constant else float(spearmanr(y, p).statistic),
            "top1": np.nan if top.sum() > 1 else float(y[top][0] == y.max()),
            "chance": 1.0 / n,
            "pairs_right": float(np.mean((agree[differ] > 0) + 0.5 * (agree[differ] == 0))) if differ.any()
            else np.nan,
            "offset_free_mae": float(np.mean(np.abs((p - p.mean()) - (y - y.mean())))),
            "flat_mae": float(np.mean(np.abs(y - y.mean()))),
            "predicted_spread": float(np.std(p)), "measured_spread": float(np.std(y)),
        })
    return pd.DataFrame(scores)


def summarize_series_scores(scores: pd.DataFrame) -> dict:
    """Return the means over series of :func:`series_scores` (NaN-skipping), with the number of series and of
    members; ``top1_vs_chance`` is the top-1 rate over the mean chance rate."""
    def mean(column):
        values = scores[column].dropna()
        return float(values.mean()) if len(values) else None

    summary = {"series": int(len(scores)), "members": int(scores["n"].sum()) if len(scores) else 0}
    for column in ("spearman", "top1", "chance", "pairs_right", "offset_free_mae", "flat_mae", "predicted_spread",
                   "measured_spread"):
        summary[column] = mean(column)
    summary["top1_vs_chance"] = (summary["top1"] / summary["chance"]
                                 if summary["top1"] is not None and summary["chance"] else None)
    return summary


#: Classes of the composition distance between two members (the fraction of atoms exchanged, see
#: :func:`composition_distance`): a small substitution is predicted more surely than a large one, so each class gets
#: its own paired half-width (Mondrian conformal). A distance on an edge belongs to the farther class.
PAIR_DISTANCE_EDGES = (0.02, 0.05, 0.1)
#: A distance class calibrated on fewer pairs, or on pairs from fewer series, takes the width of all pairs: the
#: pairs of one series share its lab and are not independent.
MIN_CLASS_PAIRS = 30
MIN_CLASS_SERIES = 5
#: Distances are rounded to this many decimals before they are classed, so that a doping level that lands on an
#: edge (Li3InCl6 → Li3Y0.5In0.5Cl6 is 0.05) falls in the same class however the fractions were summed.
DISTANCE_DECIMALS = 9


def atom_fractions(composition, additive: str | None = None, additive_wt_pct: float = 0.0) -> dict[str, float]:
    """Return the atomic fraction of each element of a material, or of a composite with ``additive_wt_pct`` wt% of
    ``additive`` (the two phases' atoms counted from their molar masses: 5 wt% BaTiO3 in Li2.5Y0.5Zr0.5Cl6 is
    about 4 % of the atoms).

    Parameters
    ----------
    composition : str or pymatgen.core.Composition
        The material (or a composite's matrix).
    additive : str or pymatgen.core.Composition, optional
        A composite's additive.
    additive_wt_pct : float, default 0
        The additive's share, wt%.

    Returns
    -------
    dict
        Element symbol → fraction of all atoms (summing to 1).
    """
    matrix = parse_composition(composition)
    share = float(additive_wt_pct or 0.0) / 100.0
    if not additive or share <= 0.0:
        return matrix.fractional_composition.get_el_amt_dict()
    added = parse_composition(additive)
    # Atoms per gram of the composite in each phase.
    matrix_atoms = (1.0 - share) / matrix.weight * matrix.num_atoms
    added_atoms = share / added.weight * added.num_atoms
    total = matrix_atoms + added_atoms
    fractions: dict[str, float] = {}
    for phase, atoms in ((matrix, matrix_atoms), (added, added_atoms)):
        for element, fraction in phase.fractional_composition.get_el_amt_dict().items():
            fractions[element] = fractions.get(element, 0.0) + fraction * atoms / total
    return fractions


def fraction_distance(first: dict | None, second: dict | None) -> float:
    """Return half the L1 distance between two :func:`atom_fractions` (the fraction of atoms exchanged), rounded to
    :data:`DISTANCE_DECIMALS`; NaN when either is None (not known)."""
    if first is None or second is None:
        return float("nan")
    return round(0.5 * sum(abs(first.get(el, 0.0) - second.get(el, 0.0)) for el in set(first) | set(second)),
                 DISTANCE_DECIMALS)


def composition_distance(first, second) -> float:
    """Return the fraction of atoms two compositions differ by: half the L1 distance of their atomic fractions
    (0 for equal compositions up to scaling, 1 for compositions sharing no element; Li2ZrCl6 → Li2.1Y0.1Zr0.9Cl6
    is about 0.02). For composites, compare :func:`atom_fractions` with :func:`fraction_distance`."""
    return fraction_distance(atom_fractions(first), atom_fractions(second))


def distance_class(distance, edges=PAIR_DISTANCE_EDGES) -> np.ndarray:
    """Return the index of each distance's class among ``edges`` (0 … len(edges); an edge opens the farther
    class)."""
    rounded = np.round(np.asarray(distance, dtype=float), DISTANCE_DECIMALS)
    return np.searchsorted(np.asarray(edges, dtype=float), rounded, side="right")


def member_pairs(series: pd.DataFrame) -> pd.DataFrame:
    """Return every pair i < j of members of one series: its series, the positions of the two members in
    ``series`` and their distance (:func:`fraction_distance` of their :func:`atom_fractions`, a composite's
    additive included).

    Parameters
    ----------
    series : pandas.DataFrame
        From :func:`doping_series`.

    Returns
    -------
    pandas.DataFrame
        Columns ``series``, ``first``, ``second`` (positions) and ``distance``.
    """
    fractions = [_known_atom_fractions(c, a, w) for c, a, w in
                 zip(series["composition"], series["additive"], series["additive_wt_pct"])]
    parts = []
    for name, members in series.groupby("series", sort=False).indices.items():
        i, j = np.triu_indices(len(members), 1)
        parts.append(pd.DataFrame({
            "series": name, "first": members[i], "second": members[j],
            "distance": [fraction_distance(fractions[a], fractions[b]) for a, b in zip(members[i], members[j])]}))
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame({"series": [], "first": [], "second": [], "distance": []}).astype(
                {"first": int, "second": int, "distance": float}))


def _known_atom_fractions(composition, additive, additive_wt_pct) -> dict | None:
    """:func:`atom_fractions`, or None for an additive written as free text (e.g. a glass in mol%,
    ``65Li2O·27B2O3·8SiO2``): a pair with an unknown distance falls in the farthest class."""
    try:
        return atom_fractions(composition, additive, additive_wt_pct)
    except ValueError:
        return None


def pair_residuals(pairs: pd.DataFrame, measured, predicted) -> np.ndarray:
    """Return |predicted difference − measured difference| of each pair of :func:`member_pairs` (units of the
    values)."""
    measured = np.asarray(measured, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    first, second = pairs["first"].to_numpy(dtype=int), pairs["second"].to_numpy(dtype=int)
    return np.abs((predicted[first] - predicted[second]) - (measured[first] - measured[second]))


def calibrate_paired_half_widths(pairs: pd.DataFrame, residual, coverage: float = 0.8) -> dict | None:
    """Return the conformal half-width at ``coverage`` of each distance class of ``pairs``
    (:func:`paired_half_widths` says how); None without pairs."""
    residual = np.asarray(residual, dtype=float)
    if not len(residual):
        return None
    classes = distance_class(pairs["distance"])
    overall = conformal_quantile(residual, coverage)
    widths, counts, series_counts = [], [], []
    for k in range(len(PAIR_DISTANCE_EDGES) + 1):
        here = classes == k
        counts.append(int(here.sum()))
        series_counts.append(int(pairs.loc[here, "series"].nunique()))
        enough = counts[-1] >= MIN_CLASS_PAIRS and series_counts[-1] >= MIN_CLASS_SERIES
        widths.append(conformal_quantile(residual[here], coverage) if enough else overall)
    return {"distance_edges": list(PAIR_DISTANCE_EDGES),
            "half_widths": [float(w) for w in np.maximum.accumulate(widths)],
            "pairs": counts, "series": series_counts}


def paired_half_widths(series: pd.DataFrame, predicted, coverage: float = 0.8) -> dict | None:
    """Return the split-conformal half-widths of a predicted difference between two members of a series.

    For every pair of members, |predicted difference − measured difference| is a held-out residual
    (``predicted``: one held-out prediction per member, in the units of ``measured``). A lab's offset cancels in a
    difference, so this is the interval of a change versus a host rather than of an absolute value. The residuals
    grow with how far apart the two members are, so each class of :data:`PAIR_DISTANCE_EDGES` gets the conformal
    quantile at ``coverage`` of its own residuals (a class with fewer than :data:`MIN_CLASS_PAIRS` pairs or
    :data:`MIN_CLASS_SERIES` series takes the quantile over all pairs, and no class is narrower than a closer one).

    Returns
    -------
    dict or None
        ``{"distance_edges": [...], "half_widths": [one per class], "pairs": [...], "series": [...]}`` (the
        calibration pairs and series per class); None without pairs.
    """
    pairs = member_pairs(series)
    return calibrate_paired_half_widths(pairs, pair_residuals(pairs, series["measured"], predicted), coverage)


def half_width_at(widths: dict, distance) -> np.ndarray:
    """Return the paired half-width of :func:`paired_half_widths` for each composition distance."""
    return np.asarray(widths["half_widths"], dtype=float)[distance_class(distance, widths["distance_edges"])]


def paired_coverage(series: pd.DataFrame, predicted, fold_of_group: dict, coverage: float = 0.8) -> dict:
    """Measure the paired interval on held-out series: for each fold, the half-widths are calibrated
    (:func:`paired_half_widths`) on the series of the other folds' papers and checked on this fold's pairs.

    Returns the pairs checked, the fraction covered overall and per distance class, and the mean half-width
    (units of ``measured``)."""
    pairs = member_pairs(series)
    residual = pair_residuals(pairs, series["measured"], predicted)
    # A series lies within one paper, so both members of a pair are in the same fold.
    folds = series["group"].map(fold_of_group).to_numpy()[pairs["first"].to_numpy(dtype=int)]
    hits, widths, classes = [], [], []
    for fold in np.unique(folds):
        here = folds == fold
        calibrated = calibrate_paired_half_widths(pairs[~here], residual[~here], coverage)
        if calibrated is None:
            continue
        width = half_width_at(calibrated, pairs.loc[here, "distance"])
        hits.append(residual[here] <= width)
        widths.append(width)
        classes.append(distance_class(pairs.loc[here, "distance"]))
    hits = np.concatenate(hits) if hits else np.array([], dtype=bool)
    classes = np.concatenate(classes) if classes else np.array([], dtype=int)
    by_class = {f"{lo:g}-{hi:g}": float(hits[classes == k].mean()) if (classes == k).any() else None
                for k, (lo, hi) in enumerate(zip((0.0, *PAIR_DISTANCE_EDGES), (*PAIR_DISTANCE_EDGES, 1.0)))}
    return {"pairs": int(len(hits)), "coverage": float(hits.mean()) if len(hits) else None,
            "coverage_by_distance": by_class,
            "mean_half_width": float(np.concatenate(widths).mean()) if widths else None}


#: The doping series of the seed papers, each scored apart: name → the seed file (its paper group).
SEED_SERIES = {"Li2+2xZrCl6−xNx": "000_878e6fb3c4b52443.txt",
               "Li2.5Y0.5Zr0.5Cl6 + x wt% BaTiO3": "004_72a5fce4c3287755.txt"}


def series_report(rows: pd.DataFrame, predicted, baselines: dict | None = None,
                  fold_of_group: dict | None = None) -> dict:
    """Score held-out predictions within the doping series of ``rows``.

    Parameters
    ----------
    rows : pandas.DataFrame
        Training rows (:func:`doping_series`'s input).
    predicted : array_like
        One held-out prediction per row of ``rows`` (papers held out), units of ``target``.
    baselines : dict of str to array_like, optional
        Other scores per row to rank the members by (e.g. ``"Li per anion"``).
    fold_of_group : dict, optional
        Each paper's fold, to measure the paired interval on held-out series (:func:`paired_coverage`).

    Returns
    -------
    dict
        ``mlsse`` and each baseline: :func:`summarize_series_scores`; ``paired_interval`` (with
        ``fold_of_group``); ``seed_series``: per :data:`SEED_SERIES` found in ``rows``, its members' composition,
        additive wt%, measured and predicted values, Spearman ρ, and the member predicted and measured best.
    """
    series = doping_series(rows)
    members_predicted = member_values(series, predicted)
    report = {"mlsse": summarize_series_scores(series_scores(series, members_predicted))}
    for name, values in (baselines or {}).items():
        report[name] = summarize_series_scores(series_scores(series, member_values(series, values)))
    if fold_of_group is not None:
        report["paired_interval"] = paired_coverage(series, members_predicted, fold_of_group)
    report["seed_series"] = {}
    for name, group in SEED_SERIES.items():
        here = (series["group"] == group).to_numpy()
        if not here.any():
            continue
        part = series[here].assign(predicted=members_predicted[here])
        for number, one in part.groupby("series", sort=True):
            scores = series_scores(one, one["predicted"]).iloc[0]
            report["seed_series"][f"{name} ({number})"] = {
                "members": [{"composition": c, "additive_wt_pct": float(w), "measured": float(m),
                             "predicted": float(p)}
                            for c, w, m, p in zip(one["composition"], one["additive_wt_pct"], one["measured"],
                                                  one["predicted"])],
                "spearman": None if np.isnan(scores["spearman"]) else float(scores["spearman"]),
                "predicted_best": _member_label(one.loc[one["predicted"].idxmax()]),
                "measured_best": _member_label(one.loc[one["measured"].idxmax()]),
            }
    return report


def _member_label(member: pd.Series) -> str:
    """A member as a chemist writes it: its composition, with its additive's wt% for a composite."""
    if member["additive"] and member["additive_wt_pct"]:
        return f"{member['composition']} + {member['additive_wt_pct']:g} wt% {member['additive']}"
    return member["composition"]
