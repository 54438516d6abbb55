"""Model versions: the shipped read-only ``default`` plus the user's versions under ``$MLSSE_HOME/models``."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from mlsse.errors import ModelError
from mlsse.io import file_sha256
from mlsse.models.predictor import Predictor
from mlsse.models.storage import load_model, model_problem
from mlsse.paths import SHIPPED_MODELS_DIR, home_dir
from mlsse.workspace.store import BASE_MODEL, activate, read_state, roll_back, store_lock, write_state

#: A version name is a directory name under ``$MLSSE_HOME/models``: no path separators, no leading dot.
VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def checked_version_name(name: str) -> str:
    """Check that a name can name a new model version.

    A name is also the version's directory, so ``..`` or ``/abs/path`` must never reach the file system.

    Parameters
    ----------
    name : str
        The proposed name.

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    ModelError
        If it is not 1–64 letters, digits, '.', '_' and '-' starting with a letter or digit, or is the base
        model's name.
    """
    if not VERSION_NAME.fullmatch(name) or name == BASE_MODEL:
        raise ModelError(f"model version name {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
                         f"(at most 64, starting with a letter or digit), not {BASE_MODEL!r}")
    return name


def versions_dir() -> Path:
    """Return the directory holding the user's model versions: ``$MLSSE_HOME/models``."""
    return home_dir() / "models"


def model_dir(name: str) -> Path:
    """Return the directory of a model version.

    Parameters
    ----------
    name : str
        The shipped base (``default``) or a committed user version.

    Returns
    -------
    pathlib.Path
        Its directory.

    Raises
    ------
    ModelError
        If there is no version of that name.
    """
    if name == BASE_MODEL:
        return SHIPPED_MODELS_DIR / BASE_MODEL
    for entry in read_state()["models"]:
        if entry["name"] == name:
            return versions_dir() / entry["dir"]
    raise ModelError(f"no model version {name!r}; see 'mlsse models list'")


def active_model_name() -> str:
    """Return the name of the model predictions use: the user's selection, else the shipped base."""
    return read_state().get("active") or BASE_MODEL


def list_models() -> list[dict]:
    """Return every model version, the shipped base first.

    Returns
    -------
    list of dict
        Per version its ``name``, ``created``, ``batches`` (the lab batches it was trained on) and ``active``,
        with the other fields of its record.
    """
    state = read_state()
    active = state.get("active") or BASE_MODEL
    entries = [{"name": BASE_MODEL, "created": "shipped", "batches": [], "note": "read-only base model"}]
    entries += state["models"]
    return [{**entry, "active": entry["name"] == active} for entry in entries]


def model_summaries() -> list[dict]:
    """Return every model version with its measured figures, as ``mlsse models list`` and the web app show them.

    Returns
    -------
    list of dict
        Per version (the shipped base first): ``name``, ``created``, ``batches`` (lab batches it was trained
        on), ``active`` (bool), ``sigma_rows`` (σ rows it was trained on), ``mae_log10_sigma`` (log10 S/cm) and
        ``mae_ea_eV`` (eV), the paper-grouped 5-fold CV errors recorded when it was trained (None where not
        recorded), and ``problem``: why the version cannot be used (damaged, missing), or None.
    """
    summaries = []
    for entry in list_models():
        directory = model_dir(entry["name"])
        summary = {"name": entry["name"], "created": entry["created"], "batches": list(entry.get("batches", [])),
                   "active": entry["active"], "sigma_rows": None, "mae_log10_sigma": None, "mae_ea_eV": None,
                   "problem": model_problem(directory) if directory.is_dir() else "its directory is missing"}
        if summary["problem"] is None:
            try:
                metadata = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
                metrics = metadata.get("metrics", {})
                summary.update(sigma_rows=metadata.get("n_sigma_rows"),
                               mae_log10_sigma=metrics.get("log10_sigma", {}).get("mae"),
                               mae_ea_eV=metrics.get("ea_eV", {}).get("mae"))
            except (OSError, ValueError, AttributeError) as exc:  # shown, not raised: the other versions list
                summary["problem"] = str(exc)
        summaries.append(summary)
    return summaries


def use_model(name: str) -> None:
    """Make a model version the active one; the previous one goes on the rollback history.

    Parameters
    ----------
    name : str
        The version.

    Raises
    ------
    ModelError
        If there is no version of that name, or its files are missing or damaged (:func:`model_problem`).
    BusyError
        If another process holds the store's lock.
    """
    if not (model_dir(name) / "metadata.json").is_file():  # model_dir raises if the name is unknown
        raise ModelError(f"model version {name!r} has no files at {model_dir(name)}; see 'mlsse models list'")
    if (problem := model_problem(model_dir(name))) is not None:
        raise ModelError(f"model version {name!r} is damaged: {problem}; the active model stays "
                         f"{active_model_name()!r}")
    with store_lock():
        state = read_state()
        if activate(state, name) != name:
            write_state(state)


def rollback_model() -> str:
    """Re-activate the model that was active before the current one.

    Returns
    -------
    str
        The name of the model now active.

    Raises
    ------
    ModelError
        If there is nothing to roll back to.
    BusyError
        If another process holds the store's lock.
    """
    with store_lock():
        state = read_state()
        active = roll_back(state)
        write_state(state)
        return active


def default_model_dir() -> Path:
    """Return the directory of the model used when none is named.

    Returns
    -------
    pathlib.Path
        The user's active version if one is selected, else the shipped ``models/default``.
    """
    return model_dir(active_model_name())


@lru_cache(maxsize=4)
def _load(directory: str) -> Predictor:
    return load_model(directory)


def load_predictor(model: str | Path | Predictor | None = None) -> Predictor:
    """Load a model, once per process and directory.

    Parameters
    ----------
    model : str, pathlib.Path or Predictor, optional
        A model directory; default the active model (:func:`default_model_dir`). A loaded ``Predictor`` is
        returned as it is (a server that holds one passes it on, unchecked again).

    Returns
    -------
    Predictor
        The predictor.

    Raises
    ------
    ModelError
        If the model is missing, damaged or incompatible.
    """
    if isinstance(model, Predictor):
        return model
    directory = Path(model) if model is not None else default_model_dir()
    verify_version_files(directory)
    return _load(str(directory.resolve()))


def verify_version_files(directory: Path) -> None:
    """Refuse a committed user version whose files changed after it was committed.

    Parameters
    ----------
    directory : pathlib.Path
        A model directory; one that is no committed user version (the shipped model, a ``--model DIR``) or
        that was committed before hashes were recorded is not checked.

    Raises
    ------
    ModelError
        Naming the version and the file, when a file's SHA-256 is not the one ``state.json`` recorded (a file
        added, removed, edited or replaced).
    """
    resolved = directory.resolve()
    if versions_dir().resolve() not in resolved.parents:
        return
    for entry in read_state()["models"]:
        recorded = entry.get("files_sha256")
        if (versions_dir() / entry["dir"]).resolve() != resolved or not recorded:
            continue
        present = {path.name for path in resolved.iterdir() if path.is_file()}
        for name in sorted(present | set(recorded)):
            path = resolved / name
            if name not in recorded or not path.is_file() or file_sha256(path) != recorded[name]:
                raise ModelError(f"model version {entry['name']!r}: {path} was changed after the version was "
                                 "committed (its SHA-256 is not the one state.json recorded); nothing predicts "
                                 "with it: retrain, or 'mlsse models use' another")
