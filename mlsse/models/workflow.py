"""End-to-end training: curated data → trained, saved model directory."""

from __future__ import annotations

from pathlib import Path

from mlsse.paths import home_dir


def optuna_storage() -> str:
    """Return the Optuna SQLite storage URL under ``$MLSSE_HOME`` (resumable, optuna-dashboard readable)."""
    path = home_dir() / "optuna.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def train_and_save(*, out: str | Path | None = None, external_dir=None, seed: int = 0, trials: int = 0,
                   tune_targets=("log10_sigma", "ea_eV"), storage: str | None = "default", name: str | None = None,
                   progress=None, base_params: dict | None = None, lab_batches: bool = True) -> Path:
    """Build (or reuse) the curated table, train both models and save them; return the model directory.

    ``storage="default"`` keeps Optuna studies in ``$MLSSE_HOME/optuna.db``; ``None`` keeps them in memory.
    ``lab_batches``: include the lab batches committed by ``mlsse retrain`` (the shipped model does not, so that
    it is regenerated from the public and seed data alone whatever a user has added).
    """
    from datetime import datetime, timezone

    from mlsse.data.build import build_curated, load_curated, table_sha256
    from mlsse.data.store import committed_user_rows, read_state
    from mlsse.models.predictor import check_model_target
    from mlsse.models.training import train_predictor

    if out is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out = home_dir() / "models" / (name or f"model-{stamp}")
    out = Path(out)
    check_model_target(out)  # before the table is built and the models trained, which take minutes
    user_rows = committed_user_rows() if lab_batches else ()
    table = (build_curated(external_dir=external_dir, extra=user_rows).table if len(user_rows)
             else load_curated(external_dir=external_dir))
    data_hash = table_sha256(table)
    predictor = train_predictor(table, seed=seed, trials=trials, name=name or out.name, data_sha256=data_hash,
                                storage=optuna_storage() if storage == "default" else storage,
                                tune_targets=tune_targets, progress=progress, base_params=base_params)
    if len(user_rows):  # as retrain does: which lab batches the model saw (explain --global reads them)
        predictor.metadata["batches"] = [b["id"] for b in read_state()["batches"]]
    return predictor.save(out)
