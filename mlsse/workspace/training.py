"""Training in the workspace: the table a model trains on, and curated data → trained, saved model directory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from mlsse.data.build import build_curated, load_curated, merge_curated, table_sha256
from mlsse.errors import ModelError
from mlsse.models.fitting import train_predictor
from mlsse.models.storage import check_model_target, save_model
from mlsse.paths import SHIPPED_MODELS_DIR, home_dir
from mlsse.workspace.registry import versions_dir
from mlsse.workspace.store import BASE_MODEL, committed_user_rows, read_state


def training_table(batch_ids=None, *, extra: pd.DataFrame | None = None, external_dir=None,
                   curated: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the curated table a model trains on.

    The lab rows are merged into the cached curated table (:func:`~mlsse.data.build.merge_curated`), which gives
    the table a rebuild with them would; only when a lab row is a duplicate candidate of a public row (same
    composition and DOI) is the table rebuilt from the sources, which de-duplicates them.

    Parameters
    ----------
    batch_ids : collection of str, optional
        The committed lab batches to include; None: every committed batch; empty: none.
    extra : pandas.DataFrame, optional
        More rows with the curated columns, e.g. a batch being added.
    external_dir : str or pathlib.Path, optional
        Directory of the public data files (:func:`mlsse.paths.external_data_dir`).
    curated : pandas.DataFrame, optional
        The public curated table, when already loaded (:func:`~mlsse.data.build.load_curated` of
        ``external_dir``); default: loaded here.

    Returns
    -------
    pandas.DataFrame
        The public and seed data with the lab rows merged in; without lab rows, the cached curated table.

    Raises
    ------
    MlsseError
        If a committed batch file was changed after it was committed (:func:`committed_user_rows`).
    """
    parts = [committed_user_rows(batch_ids=batch_ids)] if batch_ids is None or len(batch_ids) else []
    parts = [part for part in [*parts, extra] if part is not None and len(part)]
    public = curated if curated is not None else load_curated(external_dir=external_dir)
    if not parts:
        return public
    rows = pd.concat(parts, ignore_index=True)
    merged = merge_curated(public, rows)
    if merged is None:
        return build_curated(external_dir=external_dir, extra=rows).table
    return merged[0]


def optuna_storage() -> str:
    """Return the Optuna SQLite storage URL under ``$MLSSE_HOME`` (resumable, optuna-dashboard readable).

    Returns
    -------
    str
        ``sqlite:///<MLSSE_HOME>/optuna.db``; the directory is created if missing.
    """
    path = home_dir() / "optuna.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def train_and_save(*, out: str | Path | None = None, external_dir=None, seed: int = 0, trials: int = 0,
                   tune_targets=("log10_sigma", "ea_eV"), storage: str | None = "default", name: str | None = None,
                   progress=None, base_params: dict | None = None, lab_batches: bool = True,
                   replace_shipped: bool = False) -> Path:
    """Build (or reuse) the curated table, train both models and save them.

    The output directory is checked before the table is built and the models trained.

    Parameters
    ----------
    out : str or pathlib.Path, optional
        The model directory; default a new ``model-<UTC time stamp>`` (or ``name``) under
        ``$MLSSE_HOME/models``. It may not be a registered model version, nor the shipped model unless
        ``replace_shipped``.
    external_dir : str or pathlib.Path, optional
        Directory of the public data files.
    seed : int, default 0
        Seed of the folds, the tuning and the models.
    trials : int, default 0
        Optuna trials per tuned target.
    tune_targets : sequence of str, default ("log10_sigma", "ea_eV")
        The targets tuned.
    storage : str or None, default "default"
        Optuna storage URL; ``"default"`` keeps studies in ``$MLSSE_HOME/optuna.db``, None in memory.
    name : str, optional
        The model's name; default the directory's name.
    progress : mlsse.progress.Progress, optional
        Receives stage messages and task steps.
    base_params : dict, optional
        Hyper-parameters for the untuned targets (:func:`~mlsse.models.fitting.train_predictor`).
    lab_batches : bool, default True
        Include the lab batches committed by ``mlsse retrain``. The shipped model does not, so that it is
        regenerated from the public and seed data alone whatever a user has added.
    replace_shipped : bool, default False
        Allow ``out`` to be the shipped model (``scripts/train_default.py``).

    Returns
    -------
    pathlib.Path
        The model directory.

    Raises
    ------
    ModelError
        If ``out`` cannot take a model, or is a registered version or the shipped model.
    """
    if out is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out = versions_dir() / (name or f"model-{stamp}")
    out = Path(out)
    # Before the table is built and the models trained, which take minutes.
    check_model_target(out)
    state = read_state()
    protected = {(versions_dir() / m["dir"]).resolve(): f"model version {m['name']!r}"
                 for m in state["models"]}
    if not replace_shipped:
        protected[(SHIPPED_MODELS_DIR / BASE_MODEL).resolve()] = "the shipped model (scripts/train_default.py)"
    if out.resolve() in protected:
        raise ModelError(f"cannot save a model at {out}: it is {protected[out.resolve()]}, which other versions' "
                         "records describe; name a new directory")
    batch_ids = [b["id"] for b in state["batches"]] if lab_batches else []
    table = training_table(batch_ids, external_dir=external_dir)
    data_hash = table_sha256(table)
    predictor = train_predictor(table, seed=seed, trials=trials, name=name or out.name, data_sha256=data_hash,
                                storage=optuna_storage() if storage == "default" else storage,
                                tune_targets=tune_targets, progress=progress, base_params=base_params)
    if batch_ids:  # as retrain does: which lab batches the model saw (explain --global reads them)
        predictor.metadata["batches"] = batch_ids
    return save_model(predictor, out)
