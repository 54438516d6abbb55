"""Model versions: the shipped read-only ``default`` plus the user's versions under ``$MLSSE_HOME/models``."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mlsse.errors import ModelError
from mlsse.models.predictor import Predictor
from mlsse.models.storage import load_model
from mlsse.paths import SHIPPED_MODELS_DIR, home_dir
from mlsse.workspace.store import read_state, store_lock, write_state

BASE_MODEL = "default"
#: A version name is a directory name under ``$MLSSE_HOME/models``: no path separators, no leading dot.
VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def checked_version_name(name: str) -> str:
    """Return ``name`` if it can name a new model version, else raise ``ModelError`` (a name is also the
    version's directory, so ``..`` or ``/abs/path`` must never reach the file system)."""
    if not VERSION_NAME.fullmatch(name) or name == BASE_MODEL:
        raise ModelError(f"model version name {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
                         f"(at most 64, starting with a letter or digit), not {BASE_MODEL!r}")
    return name


def versions_dir() -> Path:
    """Return the directory holding the user's model versions: ``$MLSSE_HOME/models``."""
    return home_dir() / "models"


def model_dir(name: str) -> Path:
    """Return the directory of model version ``name`` (the shipped base or a committed user version)."""
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
    """Return every version: name, created, what it was trained on, and whether it is active."""
    state = read_state()
    active = state.get("active") or BASE_MODEL
    entries = [{"name": BASE_MODEL, "created": "shipped", "batches": [], "note": "read-only base model"}]
    entries += state["models"]
    return [{**entry, "active": entry["name"] == active} for entry in entries]


def use_model(name: str) -> None:
    """Make ``name`` the active model (the previous one goes on the rollback history)."""
    if not (model_dir(name) / "metadata.json").is_file():  # model_dir raises if the name is unknown
        raise ModelError(f"model version {name!r} has no files at {model_dir(name)}; see 'mlsse models list'")
    with store_lock():
        state = read_state()
        previous = state.get("active") or BASE_MODEL
        if previous != name:
            state["history"].append(previous)
            state["active"] = name
            write_state(state)


def rollback_model() -> str:
    """Re-activate the model that was active before the current one; return its name."""
    with store_lock():
        state = read_state()
        if not state["history"]:
            raise ModelError("nothing to roll back to: the active model is the first one used")
        state["active"] = state["history"].pop()
        write_state(state)
        return state["active"]


def default_model_dir() -> Path:
    """Return the directory of the model used when none is named: the user's active version if one is
    selected, else the shipped ``models/default``."""
    return model_dir(active_model_name())


@lru_cache(maxsize=4)
def _load(directory: str) -> Predictor:
    return load_model(directory)


def load_predictor(model: str | Path | None = None) -> Predictor:
    """Load (once per process) the model at ``model`` (a directory), or the default model."""
    directory = Path(model) if model is not None else default_model_dir()
    return _load(str(directory.resolve()))
