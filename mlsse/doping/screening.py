"""Screens of many dopings: every host × site × dopant × level × compensation, enumerated lazily, predicted in
fixed chunks on a process pool or a Dask cluster, streamed to Parquet with acquisition scores, and the best
candidates picked for the next experiments.

The candidate space is numbered once (sweep by sweep, levels in order; :mod:`~mlsse.doping.space`) and cut into
chunks of a fixed number of candidates. Each chunk is enumerated, charge balanced
(:func:`~mlsse.doping.substitution.dope`), featurized, predicted and scored (:mod:`~mlsse.doping.acquisition`) by
whichever worker gets it (:mod:`~mlsse.doping.engine`), and the chunks are written in their order
(:mod:`~mlsse.doping.screen_file`), so the file does not depend on the number of workers or on the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.doping.acquisition import (
    DEFAULT_KAPPA,
    FrontTracker,
    HostReference,
    TopTracker,
    acquisition_scores,
    host_distances,
    host_predictions,
    mark_front,
    pick_diverse,
)
from mlsse.doping.engine import Engine, in_order
from mlsse.doping.scanning import reasons_against_host
from mlsse.doping.screen_file import flag_front, screen_schema, without
from mlsse.doping.space import ScreenSpec, chunk_candidates
from mlsse.doping.substitution import DopingError
from mlsse.features import featurize_table
from mlsse.io import arrow_table, atomic_path, parquet_writer, temporary_path
from mlsse.progress import SILENT, Progress
from mlsse.workspace.registry import default_model_dir, load_predictor

#: Candidates per chunk: the unit of work of a worker and a row group of the Parquet file.
DEFAULT_CHUNK_ROWS = 10_000
#: Largest doping space a screen takes unless told otherwise (scripts/bench_screen.py measures the speed).
DEFAULT_MAX_CANDIDATES = 5_000_000


def predict_chunk(spec: ScreenSpec, chunk: int, chunk_rows: int, model: str, hosts: dict[str, HostReference],
                  kappa: float = DEFAULT_KAPPA) -> pd.DataFrame:
    """Enumerate, predict and score one chunk of a screen: the work one worker does.

    Parameters
    ----------
    spec : ScreenSpec
        The doping space.
    chunk, chunk_rows : int
        Which candidates (:func:`~mlsse.doping.space.chunk_candidates`).
    model : str
        The model directory.
    hosts : dict
        Host formula → its :class:`HostReference`.
    kappa : float, default DEFAULT_KAPPA
        Weight of the spread in the upper confidence bound.

    Returns
    -------
    pandas.DataFrame
        :data:`~mlsse.doping.space.CANDIDATE_COLUMNS`, the prediction columns at 25 °C
        (:data:`~mlsse.models.predictor.OUTPUT_COLUMNS`), ``ucb_log10_sigma`` and ``p_beats_host``
        (:func:`~mlsse.doping.acquisition.acquisition_scores`).
    """
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
        Sweeps that could not be built, with the reason.
    top : pandas.DataFrame or None
        The picks (:func:`~mlsse.doping.acquisition.pick_diverse`) with their reasons, if asked for.
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
        The doping space (:func:`~mlsse.doping.space.build_spec`, :func:`~mlsse.doping.space.read_spec`).
    output : str or pathlib.Path
        The Parquet file (written to a temporary name and renamed at the end).
    model : str or pathlib.Path, optional
        Model directory; default the active model.
    top : int, default 0
        How many picks to return, with their SHAP reasons (:func:`~mlsse.doping.acquisition.pick_diverse`).
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
        Counts, refused sweeps and the picks.

    Raises
    ------
    DopingError
        If the space has no candidate.
    ModelError
        If the model is missing, damaged or incompatible.
    """
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
    fronts, best = FrontTracker(), TopTracker(top, include_out_of_domain)
    written = predicted = 0
    output = Path(output)
    with atomic_path(output) as final, temporary_path(output) as first_pass:
        schema = None
        engine = Engine(workers, scheduler)
        with engine as submit, progress.task("screening", total=spec.n_candidates) as advance:
            writer = None
            try:
                for chunk, frame in in_order(submit, predict_chunk, n_chunks,
                                             (spec, chunk_rows, model, hosts, kappa), 2 * engine.slots):
                    if schema is None:
                        schema = screen_schema(frame.assign(pareto=False))
                        writer = parquet_writer(first_pass, without(schema, "pareto"))
                    writer.write_table(arrow_table(frame, without(schema, "pareto")))
                    fronts.add(frame)
                    best.add(frame, written)
                    written += len(frame)
                    predicted += int(frame["log10_sigma"].notna().sum())
                    advance(min(chunk_rows, spec.n_candidates - chunk * chunk_rows))
            finally:
                if writer is not None:
                    writer.close()
        flag_front(first_pass, final, schema, fronts)
    summary = ScreenSummary(spec.n_candidates, written, predicted, list(spec.refused))
    if top > 0 and best.best is not None:
        picks = pick_diverse(best.best, top)
        picks = picks.assign(pareto=mark_front(picks, fronts.keys()))
        summary.top = explain_picks(predictor, picks).drop(columns="row")
    return summary


def explain_picks(predictor, picks: pd.DataFrame) -> pd.DataFrame:
    """Return the picks with ``reasons_up`` / ``reasons_down``: SHAP contributions to log10 σ that rose / fell
    most against the undoped host (:func:`~mlsse.doping.scanning.reasons_against_host`), for these rows only."""
    picks = picks.reset_index(drop=True)
    up, down = [""] * len(picks), [""] * len(picks)
    for host, rows in picks.groupby("host", sort=False).groups.items():
        frame = pd.DataFrame({"composition": [host, *picks.loc[rows, "composition"]]})
        features = featurize_table(frame, cache=False)
        host_up, host_down = reasons_against_host(predictor, features, 0)
        for i, row in enumerate(rows, start=1):
            up[row], down[row] = host_up[i], host_down[i]
    return picks.assign(reasons_up=up, reasons_down=down)
