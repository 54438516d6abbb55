"""Model versions: the shipped read-only ``default`` plus the user's versions under ``$MLSSE_HOME/models``."""

from __future__ import annotations

from pathlib import Path

from mlsse.data.store import read_state, store_lock, write_state
from mlsse.errors import ModelError
from mlsse.paths import SHIPPED_MODELS_DIR, home_dir

BASE_MODEL = "default"


def model_dir(name: str) -> Path:
    """Return the directory of model version ``name`` (the shipped base or a committed user version)."""
    if name == BASE_MODEL:
        return SHIPPED_MODELS_DIR / BASE_MODEL
    for entry in read_state()["models"]:
        if entry["name"] == name:
            return home_dir() / "models" / entry["dir"]
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
    model_dir(name)  # raises if unknown
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
