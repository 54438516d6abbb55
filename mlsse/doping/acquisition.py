"""What a screen scores and picks: the upper confidence bound on log10 σ and the probability of beating the host,
the Pareto front of high σ and low Ea (kept over a stream of chunks), and diverse picks for the next experiments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlsse.doping.scanning import probability_beats_host
from mlsse.features import featurize_table
from mlsse.features.preset import ELEMENT_FRACTION_LABELS
from mlsse.models.evidence import Z_80

#: Highest upper confidence bound a candidate gets, log10 S/cm: 1 S/cm at 25 °C, forty times the best Li
#: conductor measured (Li9.54Si1.74P1.44S11.7Cl0.3, 2.5e-2 S/cm).
MAX_PLAUSIBLE_LOG10_SIGMA = 0.0
#: Default weight of the spread in the upper confidence bound, ``ucb = log10 σ + kappa · sd``.
DEFAULT_KAPPA = 2.0
#: The acquisition columns after the prediction columns.
SCORE_COLUMNS = ["ucb_log10_sigma", "p_beats_host", "pareto"]


@dataclass(frozen=True)
class HostReference:
    """What a candidate is compared with: its host's relative log10 σ at 25 °C (log10 S/cm,
    :meth:`~mlsse.models.predictor.Predictor.relative_log10_sigma`) and atomic fractions (H … Og)."""

    relative: float
    fractions: np.ndarray


def host_predictions(predictor, hosts: list[str]) -> dict[str, HostReference]:
    """Return each host's :class:`HostReference`."""
    features = featurize_table(pd.DataFrame({"composition": hosts}), cache=False)
    relative = predictor.relative_log10_sigma(features)
    fractions = features.reindex(columns=ELEMENT_FRACTION_LABELS).fillna(0.0).to_numpy()
    return {h: HostReference(float(r), f) for h, r, f in zip(hosts, relative, fractions)}


def host_distances(features: pd.DataFrame, hosts) -> np.ndarray:
    """Return each candidate's composition distance to its host (the fraction of atoms exchanged,
    :func:`~mlsse.models.series.composition_distance`), from the element-fraction columns of ``features`` and each
    host's (``hosts``: one :class:`HostReference` per row)."""
    fractions = features.reindex(columns=ELEMENT_FRACTION_LABELS).fillna(0.0).to_numpy()
    host_fractions = np.vstack([h.fractions for h in hosts]) if len(hosts) else np.zeros_like(fractions)
    return 0.5 * np.abs(fractions - host_fractions).sum(axis=1)


def acquisition_scores(mean, half_width, delta, paired_half_width, kappa: float = DEFAULT_KAPPA):
    """Return the upper confidence bound on log10 σ and the probability of beating the host.

    Parameters
    ----------
    mean, half_width : array_like
        Each candidate's predicted log10 σ and its 80 % interval half-width, log10 S/cm.
    delta, paired_half_width : array_like
        Its predicted change of log10 σ versus its host and the paired 80 % half-width of that change, log10 S/cm
        (:func:`~mlsse.doping.scanning.probability_beats_host`).
    kappa : float, default DEFAULT_KAPPA
        Weight of the spread: ``ucb = mean + kappa · half_width / 1.2816``.

    Returns
    -------
    ucb : numpy.ndarray
        The upper confidence bound, log10 S/cm, at most :data:`MAX_PLAUSIBLE_LOG10_SIGMA`.
    p_beats_host : numpy.ndarray
        The probability that the candidate's σ is above its host's.
    """
    mean, half_width = np.asarray(mean, dtype=float), np.asarray(half_width, dtype=float)
    # A wide out-of-domain interval must not buy a pick with a σ no Li conductor has.
    ucb = np.minimum(mean + kappa * half_width / Z_80, MAX_PLAUSIBLE_LOG10_SIGMA)
    return ucb, probability_beats_host(delta, paired_half_width)


def pareto_front(log10_sigma, ea) -> np.ndarray:
    """Return which points no other point beats on both high σ and low Ea.

    Parameters
    ----------
    log10_sigma, ea : array_like
        log10 σ (log10 S/cm, higher is better) and Ea (eV, lower is better); NaN rows are never on the front.

    Returns
    -------
    numpy.ndarray of bool
        True for the points on the front (one of equal points, the first).
    """
    sigma, ea = np.asarray(log10_sigma, dtype=float), np.asarray(ea, dtype=float)
    valid = np.flatnonzero(~(np.isnan(sigma) | np.isnan(ea)))
    order = valid[np.lexsort((ea[valid], -sigma[valid]))]  # σ falling, Ea rising within equal σ
    front = np.zeros(len(sigma), dtype=bool)
    best_ea = math.inf
    for i in order:  # sorted by σ: a point is on the front when its Ea is below every higher-σ point's
        if ea[i] < best_ea:
            front[i] = True
            best_ea = ea[i]
    return front


class FrontTracker:
    """The Pareto front of the rows seen so far, kept small: its (log10 σ, Ea) points."""

    def __init__(self):
        self.points = np.empty((0, 2))

    def add(self, frame: pd.DataFrame) -> None:
        both = np.vstack([self.points, frame[["log10_sigma", "ea_eV"]].to_numpy(dtype=float)])
        self.points = both[pareto_front(both[:, 0], both[:, 1])]

    def keys(self) -> set[tuple[float, float]]:
        """The front's points, as (log10 σ, Ea)."""
        return {(s, e) for s, e in self.points.tolist()}


def mark_front(frame: pd.DataFrame, keys: set) -> np.ndarray:
    """Whether each row is a point of the front (``keys``, consumed: of equal points only the first row)."""
    flags = np.zeros(len(frame), dtype=bool)
    for i, point in enumerate(zip(frame["log10_sigma"].tolist(), frame["ea_eV"].tolist())):
        if point in keys:
            flags[i] = True
            keys.discard(point)
    return flags


class TopTracker:
    """The ``k`` best candidates of each (host, dopant) seen so far, by upper confidence bound."""

    def __init__(self, k: int, include_out_of_domain: bool = False):
        self.k, self.best, self.include_out_of_domain = k, None, include_out_of_domain

    def add(self, frame: pd.DataFrame, first_row: int) -> None:
        if self.k <= 0:
            return
        frame = frame.assign(row=frame.index + first_row)
        keep = frame["log10_sigma"].notna()
        if not self.include_out_of_domain:  # an out-of-domain UCB is its interval's top, not a finding
            keep &= frame["in_domain"].fillna(False).astype(bool)
        frame = frame[keep]
        both = frame if self.best is None else pd.concat([self.best, frame], ignore_index=True)
        both = both.sort_values(["ucb_log10_sigma", "log10_sigma", "row"], ascending=[False, False, True],
                                kind="stable")
        self.best = both.groupby(["host", "dopant"], sort=False).head(self.k).reset_index(drop=True)


def pick_diverse(candidates: pd.DataFrame, k: int) -> pd.DataFrame:
    """Return ``k`` candidates for the next experiments: the best by upper confidence bound, one per host and
    dopant at a time.

    Rounds go through the (host, dopant) pairs in the order of their best candidate; each round takes every
    pair's next best, and within a round the hosts alternate. So the first picks cover as many hosts and dopants
    as there are picks, and a pair gets a second pick only when every pair has one.

    Parameters
    ----------
    candidates : pandas.DataFrame
        Scored candidates (``host``, ``dopant``, ``ucb_log10_sigma``, ``row``).
    k : int
        How many.

    Returns
    -------
    pandas.DataFrame
        The picks in pick order, with ``pick`` (1 = first).
    """
    ranked = candidates.sort_values(["ucb_log10_sigma", "log10_sigma", "row"], ascending=[False, False, True],
                                    kind="stable")
    ranked = ranked.assign(round=ranked.groupby(["host", "dopant"], sort=False).cumcount())
    # Within a round, alternate hosts: the n-th best pair of each host before the (n+1)-th of any.
    first = ranked[ranked["round"] == 0]
    pair_rank = first.groupby("host", sort=False).cumcount()
    order = {(h, d): r for h, d, r in zip(first["host"], first["dopant"], pair_rank)}
    ranked["pair_rank"] = [order[(h, d)] for h, d in zip(ranked["host"], ranked["dopant"])]
    picks = ranked.sort_values(["round", "pair_rank", "ucb_log10_sigma", "log10_sigma", "row"],
                               ascending=[True, True, False, False, True], kind="stable").head(k)
    return picks.drop(columns=["round", "pair_rank"]).assign(pick=np.arange(1, min(k, len(picks)) + 1))
