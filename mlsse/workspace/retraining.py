"""Retraining on a user's lab measurements: validate, append, retrain, compare, and commit — or change nothing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from mlsse.data.build import load_curated, table_sha256
from mlsse.data.lab import ValidationError, validate_lab_file
from mlsse.errors import DataError, MlsseError
from mlsse.features import featurize_table
from mlsse.models.cross_validation import compare_on_same_folds
from mlsse.models.fitting import train_predictor
from mlsse.models.recipe import feature_matrix
from mlsse.models.storage import save_model
from mlsse.progress import SILENT
from mlsse.workspace.registry import (
    active_model_name,
    checked_version_name,
    load_predictor,
    model_dir,
    versions_dir,
)
from mlsse.workspace.store import (
    BASE_MODEL,
    activate,
    read_state,
    register_batch,
    register_model,
    stage_batch,
    staging_dir,
    store_lock,
    write_state,
)
from mlsse.workspace.training import training_table


@dataclass
class RetrainReport:
    """What a retrain did: the new version, the metrics of old and new on the same folds, prediction shifts.

    Attributes
    ----------
    name : str
        The new model version, now active.
    batch_id : str
        The id of the batch added.
    rows_added : int
        Rows in the batch.
    comparison : dict
        :func:`~mlsse.models.cross_validation.compare_on_same_folds`' metrics of the previous and the new model.
    new_row_predictions : pandas.DataFrame or None
        The new rows' measured values beside the previous and the new model's predictions at each row's
        temperature (log10 S/cm, eV).
    public_shift : dict
        How far the retrain moved the predictions of the public rows (:func:`prediction_shift_summary`).
    """

    name: str
    batch_id: str
    rows_added: int
    comparison: dict = field(default_factory=dict)
    new_row_predictions: pd.DataFrame | None = None
    #: How far the retrain moved the predictions of the public (non-lab) rows: per target, n, median and max
    #: |new − old| (log10 S/cm or eV) and the composition of the max (:func:`prediction_shift_summary`).
    public_shift: dict = field(default_factory=dict)


def retrain(data_path: str | Path, *, name: str | None = None, trials: int = 0, seed: int = 0,
            external_dir=None, progress=None, base_params: dict | None = None,
            allow_unbalanced: bool = False) -> RetrainReport:
    """Add a lab file's rows to the store and train a new model version on everything.

    The file is validated first. The new model starts from the active model's hyper-parameters (tuned further
    only with ``trials`` > 0), so a few new rows do not move unrelated predictions. The new batch, the new model
    and the switch of the active model are committed together by one atomic write of ``state.json``; an
    interruption before that leaves the previous data and model as they were.

    Parameters
    ----------
    data_path : str or pathlib.Path
        The lab CSV (:func:`~mlsse.data.lab.validate_lab_file`).
    name : str, optional
        The new version's name; default ``v<n>-<date>``.
    trials : int, default 0
        Optuna trials per model.
    seed : int, default 0
        Seed of the folds, the tuning and the models.
    external_dir : str or pathlib.Path, optional
        Directory of the public data files.
    progress : mlsse.progress.Progress, optional
        Receives stage messages and task steps.
    base_params : dict, optional
        Hyper-parameter overrides for untuned targets (:func:`~mlsse.models.fitting.train_predictor`).
    allow_unbalanced : bool, default False
        Accept formulas that cannot be charge balanced.

    Returns
    -------
    RetrainReport
        What the retrain did.

    Raises
    ------
    ValidationError
        If the file is missing or has problems; nothing is written anywhere.
    ModelError
        If ``name`` is not a valid version name.
    MlsseError
        If ``name`` is taken, or a directory of that name is in the way.
    BusyError
        If another process holds the store's lock.
    """
    # The cheap checks before the curated table is loaded (seconds when it is not cached).
    if name is not None:
        checked_version_name(name)
    if not Path(data_path).is_file():
        raise ValidationError(Path(data_path), [DataError("file not found", path=data_path)])
    progress = progress or SILENT
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    # Loaded once: both tables below merge the lab batches into it (milliseconds) instead of rebuilding it.
    curated = load_curated(external_dir=external_dir)
    base = training_table(external_dir=external_dir, curated=curated)
    batch = validate_lab_file(data_path, existing=base, today=today, allow_unbalanced=allow_unbalanced)
    progress.message(f"{Path(data_path).name}: {len(batch.rows)} valid rows (sha256 {batch.sha256[:12]})")
    for note in batch.warnings:
        progress.message(f"note: {note}")
    with store_lock():
        state = read_state()
        names = {m["name"] for m in state["models"]} | {BASE_MODEL}
        name = name or f"v{len(state['models']) + 1}-{today}"
        if name in names:
            raise MlsseError(f"model version {name!r} exists already; choose another --name")
        if (versions_dir() / name).exists():  # not a version: left by an interrupted run, or by train --out
            raise MlsseError(f"{versions_dir() / name} exists but is no model version; choose another "
                             "--name, or move that directory away")
        staging = staging_dir()
        batch_id = f"{len(state['batches']) + 1:04d}-{batch.sha256[:12]}"
        rows = batch.rows.assign(batch=batch_id)
        # The committed batches read again under the lock: another retrain may have committed one since.
        new_table = training_table(extra=rows, external_dir=external_dir, curated=curated)
        old_predictor = load_predictor(model_dir(active_model_name()))
        progress.message(f"featurizing {len(new_table)} rows")
        # Once for training and comparing; only the batch's compositions and CIFs miss the feature caches.
        features = feature_matrix(new_table)
        progress.message(f"training {name} on {len(new_table)} rows ({trials} trials per model)")
        predictor = train_predictor(new_table, seed=seed, trials=trials, name=name,
                                    data_sha256=table_sha256(new_table), progress=progress,
                                    start_params=old_predictor.metadata.get("params"), base_params=base_params,
                                    features=features)
        predictor.metadata["batches"] = [b["id"] for b in state["batches"]] + [batch_id]
        save_model(predictor, staging / "model")
        comparison = compare_on_same_folds(new_table, batch_id, old_predictor.metadata.get("params", {}),
                                           predictor.metadata["params"], seed=seed, progress=progress,
                                           features=features)
        shifts = _prediction_shift(rows, old_predictor, predictor)
        public_shift = prediction_shift_summary(base[base["source"].ne("user")], old_predictor, predictor)
        # Move the prepared files to their final names; they stay invisible until state.json names them.
        batch_file = stage_batch(rows, batch_id)
        final_dir = versions_dir() / name
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        (staging / "model").rename(final_dir)
        register_batch(state, batch_file, batch_id=batch_id, source_file=Path(data_path).name, sha256=batch.sha256,
                       date=today, rows=len(rows))
        register_model(state, final_dir, name=name, created=today, batches=predictor.metadata["batches"],
                       metrics=predictor.metadata["metrics"])
        activate(state, name)
        write_state(state)  # the commit point
        shutil.rmtree(staging, ignore_errors=True)
    return RetrainReport(name=name, batch_id=batch_id, rows_added=len(rows), comparison=comparison,
                         new_row_predictions=shifts, public_shift=public_shift)


def _prediction_shift(rows: pd.DataFrame, old, new) -> pd.DataFrame:
    """Predictions for the new rows by the previous and the new model at each row's measured temperature,
    beside the measured values."""
    temperature = rows["temperature_C"].to_numpy(dtype=float)
    features = featurize_table(rows, errors="nan")
    before, after = (old.predict(rows, temperature, features=features),
                     new.predict(rows, temperature, features=features))
    return pd.DataFrame({
        "composition": rows["composition"], "temperature_C": temperature,
        "measured_log10_sigma": np.log10(rows["sigma_S_cm"].astype(float)),
        "before_log10_sigma": before["log10_sigma"], "after_log10_sigma": after["log10_sigma"],
        "measured_ea_eV": rows["ea_eV"], "before_ea_eV": before["ea_eV"], "after_ea_eV": after["ea_eV"],
    })


def prediction_shift_summary(table: pd.DataFrame, old, new) -> dict:
    """Summarise how far a new model moved an old one's predictions at 25 °C.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows whose distinct compositions are predicted.
    old, new : Predictor
        The two models.

    Returns
    -------
    dict
        Per target (``log10_sigma``, ``ea_eV``): ``n`` (compositions), ``median_abs`` and ``max_abs`` of
        |new − old| (log10 S/cm or eV), and ``max_composition``.
    """
    compositions = pd.DataFrame({"composition": table["composition"].drop_duplicates().to_numpy()})
    features = featurize_table(compositions, errors="nan")
    before, after = old.predict(compositions, features=features), new.predict(compositions, features=features)
    summary = {}
    for target in ("log10_sigma", "ea_eV"):
        shift = (after[target] - before[target]).abs().to_numpy(dtype=float)
        predicted = ~np.isnan(shift)
        worst = int(np.argmax(np.where(predicted, shift, -np.inf))) if predicted.any() else None
        summary[target] = {"n": int(predicted.sum()),
                           "median_abs": float(np.median(shift[predicted])) if predicted.any() else None,
                           "max_abs": float(shift[worst]) if worst is not None else None,
                           "max_composition": str(compositions["composition"].iloc[worst]) if worst is not None
                           else None}
    return summary
