"""Screens of many dopings: every host × site × dopant × level × compensation, enumerated lazily, predicted in
fixed chunks on a process pool or a Dask cluster, streamed to Parquet with acquisition scores, and the best
candidates picked for the next experiments.

The candidate space is numbered once (series by series, levels in order) and cut into chunks of a fixed number
of candidates. Each chunk is enumerated, charge balanced (:func:`~mlsse.doping.substitution.dope`), featurized
and predicted by whichever worker gets it, and the chunks are written in their order, so the file does not
depend on the number of workers or on the engine.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.doping.scanning import parse_levels
from mlsse.models.evidence import Z_80
from mlsse.doping.substitution import Compensation, DopingError
from mlsse.progress import SILENT, Progress

#: Candidates per chunk: the unit of work of a worker and a row group of the Parquet file.
DEFAULT_CHUNK_ROWS = 10_000
#: Largest doping space a screen takes unless told otherwise (scripts/bench_screen.py measures the speed).
DEFAULT_MAX_CANDIDATES = 5_000_000
#: Highest upper confidence bound a candidate gets, log10 S/cm: 1 S/cm at 25 °C, forty times the best Li
#: conductor measured (Li9.54Si1.74P1.44S11.7Cl0.3, 2.5e-2 S/cm).
MAX_PLAUSIBLE_LOG10_SIGMA = 0.0
#: Default weight of the spread in the upper confidence bound, ``ucb = log10 σ + kappa · sd``.
DEFAULT_KAPPA = 2.0
#: The columns describing a candidate, before the prediction columns.
CANDIDATE_COLUMNS = ["host", "site", "dopant", "dopant_species", "level", "compensation", "composition"]
#: The acquisition columns after the prediction columns.
SCORE_COLUMNS = ["ucb_log10_sigma", "p_beats_host", "pareto"]


@dataclass(frozen=True)
class Series:
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
    """A doping space: its series, the ones refused and why, and how it is numbered into candidates.

    Attributes
    ----------
    series : list of Series
        The series that can be built, in order.
    refused : list of str
        Per series that cannot (a dopant that cannot sit on a site, a host without charge balance), why.
    """

    series: list[Series]
    refused: list[str] = field(default_factory=list)

    @property
    def n_candidates(self) -> int:
        """Number of candidates: the levels of every series (some may be refused at their level)."""
        return sum(len(s.levels) for s in self.series)

    @property
    def hosts(self) -> list[str]:
        """The hosts, in order."""
        return list(dict.fromkeys(s.host for s in self.series))


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
        A site the host does not have: listed among the refused series, or passed over (one list of sites for
        several hosts).

    Returns
    -------
    ScreenSpec
        The series, and each series that cannot be built with its reason.

    Raises
    ------
    DopingError
        For levels that cannot be read, an unknown compensation, no host, or a host formula that does not parse.
    """
    from mlsse.chemistry import formula_text, parse_composition
    from mlsse.doping.substitution import (
        dopant_species,
        dope,
        host_oxidation_states,
        species_label,
    )

    levels = parse_levels(levels) if isinstance(levels, str) else [float(x) for x in levels]
    levels = tuple(sorted({round(x, 10) for x in levels if x > 0}))
    if not levels or not all(np.isfinite(levels)):
        raise DopingError("give at least one finite dopant level above 0")
    try:
        compensations = [Compensation(c).value for c in compensations]
    except ValueError:
        raise DopingError(f"compensation must be li or vacancy; got {list(compensations)}") from None
    if not hosts:
        raise DopingError("no host given")
    series, refused, present = [], [], set()
    for host, sites in hosts.items():
        try:
            host_comp = parse_composition(host)
        except ValueError as exc:
            raise DopingError(f"host: {exc}") from None
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
                    try:  # the series' own problems show at its smallest level (wrong sign, same element, ...)
                        dope(host_comp, site, dopant, levels[0], compensation)
                        symbol, charge = dopant_species(dopant, states[site])
                    except DopingError as exc:
                        refused.append(f"{name}, {dopant} on {site} ({compensation}): {exc}")
                        continue
                    series.append(Series(name, site, dopant, species_label(symbol, charge), compensation, levels))
    if absent_sites == "skip":  # a site skipped in every host is a slip (Q for Cl), not a choice: name it
        for site in sorted({site for sites in hosts.values() for site in sites} - present):
            refused.append(f"site {site} is in none of the hosts ({', '.join(hosts)})")
    return ScreenSpec(series, refused)


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
    from mlsse.errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

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
    from pymatgen.core import Composition

    from mlsse.chemistry import formula_text
    from mlsse.doping.substitution import dope

    start, stop = chunk * chunk_rows, min((chunk + 1) * chunk_rows, spec.n_candidates)
    rows = []
    offset = 0
    for series in spec.series:
        first, last = max(start - offset, 0), min(stop - offset, len(series.levels))
        offset += len(series.levels)
        if first >= last:
            continue
        host = Composition(series.host)
        for level in series.levels[first:last]:
            try:
                composition = dope(host, series.site, series.dopant, level, series.compensation)
            except DopingError:
                continue
            rows.append((series.host, series.site, series.dopant, series.species, level, series.compensation,
                         formula_text(composition, pymatgen_order=True)))
        if offset >= stop:
            break
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)


def predict_chunk(spec: ScreenSpec, chunk: int, chunk_rows: int, model: str, hosts: dict[str, HostReference],
                  kappa: float = DEFAULT_KAPPA) -> pd.DataFrame:
    """Enumerate, predict and score one chunk of a screen: the work one worker does.

    Parameters
    ----------
    spec : ScreenSpec
        The doping space.
    chunk, chunk_rows : int
        Which candidates (:func:`chunk_candidates`).
    model : str
        The model directory.
    hosts : dict
        Host formula → its :class:`HostReference`.
    kappa : float, default DEFAULT_KAPPA
        Weight of the spread in the upper confidence bound.

    Returns
    -------
    pandas.DataFrame
        :data:`CANDIDATE_COLUMNS`, the prediction columns at 25 °C
        (:data:`~mlsse.models.predictor.OUTPUT_COLUMNS`), ``ucb_log10_sigma`` and ``p_beats_host``
        (:func:`acquisition_scores`).
    """
    from mlsse.features import featurize_table
    from mlsse.workspace.registry import load_predictor

    candidates = chunk_candidates(spec, chunk, chunk_rows)
    predictor = load_predictor(model)
    # Screens do not use the on-disk cache: their candidates are new, and workers would contend for one file.
    features = featurize_table(candidates[["composition"]], errors="nan", cache=False)
    problems = features.pop("error").to_numpy(dtype=object)
    out = predictor.predict_features(features, compositions=candidates["composition"].tolist())
    refused = problems != ""
    if refused.any():  # candidates come from dope's charge balance, so this is rare
        out["in_domain"] = out["in_domain"].astype("boolean")
        out.loc[refused, "in_domain"] = pd.NA
        out.loc[refused, [c for c in out.columns if c not in ("note", "in_domain")]] = np.nan
        out.loc[refused, "note"] = problems[refused]
    out = pd.concat([candidates, out], axis=1)
    reference = out["host"].map(hosts)
    half = (out["log10_sigma_hi"] - out["log10_sigma_lo"]).to_numpy(dtype=float) / 2.0
    # A refused candidate's log10 σ is NaN, and so its change versus the host.
    delta = (predictor.relative_log10_sigma(features, out["log10_sigma"].to_numpy(dtype=float))
             - np.array([r.relative for r in reference]))
    paired = predictor.paired_half_width("log10_sigma", host_distances(features, reference))
    out["ucb_log10_sigma"], out["p_beats_host"] = acquisition_scores(out["log10_sigma"].to_numpy(dtype=float), half,
                                                                     delta, paired, kappa)
    return out


def host_distances(features: pd.DataFrame, hosts) -> np.ndarray:
    """Return each candidate's composition distance to its host (the fraction of atoms exchanged,
    :func:`~mlsse.models.series.composition_distance`), from the element-fraction columns of ``features`` and each
    host's (``hosts``: one :class:`HostReference` per row)."""
    from mlsse.features.preset import ELEMENT_FRACTION_LABELS

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
    from mlsse.doping.scanning import probability_beats_host

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


class _FrontTracker:
    """The Pareto front of the rows seen so far, kept small: its (log10 σ, Ea) points."""

    def __init__(self):
        self.points = np.empty((0, 2))

    def add(self, frame: pd.DataFrame) -> None:
        both = np.vstack([self.points, frame[["log10_sigma", "ea_eV"]].to_numpy(dtype=float)])
        self.points = both[pareto_front(both[:, 0], both[:, 1])]

    def keys(self) -> set[tuple[float, float]]:
        """The front's points, as (log10 σ, Ea)."""
        return {(s, e) for s, e in self.points.tolist()}


def _mark_front(frame: pd.DataFrame, keys: set) -> np.ndarray:
    """Whether each row is a point of the front (``keys``, consumed: of equal points only the first row)."""
    flags = np.zeros(len(frame), dtype=bool)
    for i, point in enumerate(zip(frame["log10_sigma"].tolist(), frame["ea_eV"].tolist())):
        if point in keys:
            flags[i] = True
            keys.discard(point)
    return flags


class _TopTracker:
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


@dataclass
class ScreenSummary:
    """What a screen did.

    Attributes
    ----------
    candidates : int
        Candidates in the doping space.
    written : int
        Rows written (candidates that could be built).
    predicted : int
        Rows predicted.
    refused : list of str
        Series that could not be built, with the reason.
    top : pandas.DataFrame or None
        The picks (:func:`pick_diverse`) with their reasons, if asked for.
    """

    candidates: int
    written: int
    predicted: int
    refused: list[str]
    top: pd.DataFrame | None = None


def screen(spec: ScreenSpec, output: str | Path, model: str | Path | None = None, *, top: int = 0,
           chunk_rows: int = DEFAULT_CHUNK_ROWS, workers: int | None = None, scheduler=None,
           kappa: float = DEFAULT_KAPPA, include_out_of_domain: bool = False,
           max_candidates: int = DEFAULT_MAX_CANDIDATES, progress: Progress = SILENT) -> ScreenSummary:
    """Predict every candidate of a doping space into a Parquet file, score it, and pick the best.

    Chunks of ``chunk_rows`` candidates run on a process pool of ``workers`` (or in this process for one
    worker), or on a Dask cluster when ``scheduler`` is given; a few chunks are in flight at a time and each is
    written, in order, as a Parquet row group. A last pass over the file flags the Pareto front.

    Parameters
    ----------
    spec : ScreenSpec
        The doping space (:func:`build_spec`, :func:`read_spec`).
    output : str or pathlib.Path
        The Parquet file (written to a temporary name and renamed at the end).
    model : str or pathlib.Path, optional
        Model directory; default the active model.
    top : int, default 0
        How many picks to return, with their SHAP reasons (:func:`pick_diverse`).
    chunk_rows : int, default DEFAULT_CHUNK_ROWS
        Candidates per chunk; the file is the same for any ``workers`` and engine, not for any ``chunk_rows``
        (row groups follow the chunks).
    workers : int, optional
        Processes of the local pool; default the machine's CPU count.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or client; the chunks run there instead.
    kappa : float, default DEFAULT_KAPPA
        Weight of the spread in ``ucb_log10_sigma`` (finite, ≥ 0).
    include_out_of_domain : bool, default False
        Let out-of-domain candidates be picked (they are always written to ``output``).
    max_candidates : int, default DEFAULT_MAX_CANDIDATES
        Refuse a space of more candidates, before any is built.
    progress : mlsse.progress.Progress, optional
        Receives one step per candidate.

    Returns
    -------
    ScreenSummary
        Counts, refused series and the picks.

    Raises
    ------
    DopingError
        If the space has no candidate.
    ModelError
        If the model is missing, damaged or incompatible.
    """
    from mlsse.io import arrow_table, atomic_path, parquet_writer, temporary_path
    from mlsse.workspace.registry import default_model_dir, load_predictor

    if spec.n_candidates == 0:
        raise DopingError("no candidate to screen" + (f": {'; '.join(spec.refused[:3])}" if spec.refused else ""))
    if spec.n_candidates > max_candidates:
        raise DopingError(f"{spec.n_candidates:,} candidates, more than --max-candidates {max_candidates:,}: "
                          "narrow the levels, sites or dopants, or raise --max-candidates")
    if not (math.isfinite(kappa) and kappa >= 0):
        raise DopingError(f"--kappa {kappa}: give a finite number ≥ 0")
    model = str(Path(model).resolve() if model is not None else default_model_dir().resolve())
    predictor = load_predictor(model)
    hosts = host_predictions(predictor, spec.hosts)
    n_chunks = math.ceil(spec.n_candidates / chunk_rows)
    fronts, best = _FrontTracker(), _TopTracker(top, include_out_of_domain)
    written = predicted = 0
    output = Path(output)
    with atomic_path(output) as final, temporary_path(output) as first_pass:
        schema = None
        engine = _engine(workers, scheduler)
        with engine as submit, progress.task("screening", total=spec.n_candidates) as advance:
            writer = None
            try:
                for chunk, frame in _in_order(submit, predict_chunk, n_chunks,
                                              (spec, chunk_rows, model, hosts, kappa), 2 * engine.slots):
                    if schema is None:
                        schema = _schema(frame.assign(pareto=False))
                        writer = parquet_writer(first_pass, _without(schema, "pareto"))
                    writer.write_table(arrow_table(frame, _without(schema, "pareto")))
                    fronts.add(frame)
                    best.add(frame, written)
                    written += len(frame)
                    predicted += int(frame["log10_sigma"].notna().sum())
                    advance(min(chunk_rows, spec.n_candidates - chunk * chunk_rows))
            finally:
                if writer is not None:
                    writer.close()
        _flag_front(first_pass, final, schema, fronts)
    summary = ScreenSummary(spec.n_candidates, written, predicted, list(spec.refused))
    if top > 0 and best.best is not None:
        picks = pick_diverse(best.best, top)
        picks = picks.assign(pareto=_mark_front(picks, fronts.keys()))
        summary.top = explain_picks(predictor, picks).drop(columns="row")
    return summary


@dataclass(frozen=True)
class HostReference:
    """What a candidate is compared with: its host's relative log10 σ at 25 °C (log10 S/cm,
    :meth:`~mlsse.models.predictor.Predictor.relative_log10_sigma`) and atomic fractions (H … Og)."""

    relative: float
    fractions: np.ndarray


def host_predictions(predictor, hosts: list[str]) -> dict[str, HostReference]:
    """Return each host's :class:`HostReference`."""
    from mlsse.features import featurize_table
    from mlsse.features.preset import ELEMENT_FRACTION_LABELS

    features = featurize_table(pd.DataFrame({"composition": hosts}), cache=False)
    relative = predictor.relative_log10_sigma(features)
    fractions = features.reindex(columns=ELEMENT_FRACTION_LABELS).fillna(0.0).to_numpy()
    return {h: HostReference(float(r), f) for h, r, f in zip(hosts, relative, fractions)}


def explain_picks(predictor, picks: pd.DataFrame) -> pd.DataFrame:
    """Return the picks with ``reasons_up`` / ``reasons_down``: SHAP contributions to log10 σ that rose / fell
    most against the undoped host (:func:`~mlsse.doping.scanning.reasons_against_host`), for these rows only."""
    from mlsse.doping.scanning import reasons_against_host
    from mlsse.features import featurize_table

    picks = picks.reset_index(drop=True)
    up, down = [""] * len(picks), [""] * len(picks)
    for host, rows in picks.groupby("host", sort=False).groups.items():
        frame = pd.DataFrame({"composition": [host, *picks.loc[rows, "composition"]]})
        features = featurize_table(frame, cache=False)
        host_up, host_down = reasons_against_host(predictor, features, 0)
        for i, row in enumerate(rows, start=1):
            up[row], down[row] = host_up[i], host_down[i]
    return picks.assign(reasons_up=up, reasons_down=down)


def _schema(frame: pd.DataFrame):
    from mlsse.io import output_schema
    from mlsse.models.predictor import OUTPUT_COLUMN_TYPES

    return output_schema(frame, column_types={**OUTPUT_COLUMN_TYPES, "level": "float", "ucb_log10_sigma": "float",
                                              "p_beats_host": "float", "pareto": "bool"})


def _without(schema, name: str):
    return schema.remove(schema.get_field_index(name))


def _flag_front(source: Path, target: Path, schema, fronts: _FrontTracker) -> None:
    """Copy the first pass's row groups into the final file with the ``pareto`` column."""
    import pyarrow.parquet as pq

    from mlsse.io import arrow_table, parquet_writer

    reader = pq.ParquetFile(source)
    keys = fronts.keys()
    with parquet_writer(target, schema) as writer:
        for group in range(reader.num_row_groups):
            frame = reader.read_row_group(group).to_pandas()
            writer.write_table(arrow_table(frame.assign(pareto=_mark_front(frame, keys)), schema))


class _engine:
    """``submit(fn, *args) -> future`` on a local process pool (in this process for one worker) or a Dask
    cluster; the same chunks and the same function either way."""

    def __init__(self, workers: int | None, scheduler):
        self.workers = workers or os.cpu_count() or 1
        self.scheduler, self.pool, self.client = scheduler, None, None
        self.slots = self.workers  # chunks that run at once

    def __enter__(self):
        if self.scheduler is not None:
            from distributed import Client

            self.client = self.scheduler if isinstance(self.scheduler, Client) else Client(self.scheduler)
            self.slots = max(1, sum(self.client.nthreads().values()))
            return lambda fn, *args: self.client.submit(fn, *args, pure=False)
        if self.workers == 1:
            return _Done
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: workers start clean (no copy of the parent's threads or XGBoost state); each loads the model once
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self.pool.submit

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        if self.client is not None and self.client is not self.scheduler:
            self.client.close()


class _Done:
    """A finished future: the local engine with one worker runs each chunk when it is submitted."""

    def __init__(self, fn, *args):
        self.value = fn(*args)

    def result(self):
        return self.value


def _in_order(submit, fn, n_chunks: int, args: tuple, in_flight: int):
    """Yield ``(chunk, fn(*args[:1], chunk, *args[1:]))`` for each chunk in order, with at most ``in_flight`` chunks
    submitted and not yet yielded (memory stays flat however many chunks there are)."""
    spec, rest = args[0], args[1:]
    pending: deque = deque()
    next_chunk = 0
    while next_chunk < n_chunks or pending:
        while next_chunk < n_chunks and len(pending) < in_flight:
            pending.append((next_chunk, submit(fn, spec, next_chunk, *rest)))
            next_chunk += 1
        chunk, future = pending.popleft()
        yield chunk, future.result()
