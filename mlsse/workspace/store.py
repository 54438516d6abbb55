"""The user's versioned, append-only data store and the one state file that commits every change.

Layout under ``$MLSSE_HOME``::

    state.json            # the single commit point: batches, model versions, the active model, its history
    store/batches/*.csv   # immutable batch files (curated columns); never rewritten once committed
    staging/              # work in progress; anything here not referenced by state.json is an orphan

A change (new batch, new model) is prepared in ``staging/``, moved to its final name, and only then becomes
real when ``state.json`` is replaced atomically. A process killed at any point leaves ``state.json`` — and so
the data and the active model it names — exactly as before.

The state is changed only through :func:`register_batch`, :func:`register_model`, :func:`activate` and
:func:`roll_back`, on a state read under :func:`store_lock`, and committed by one :func:`write_state`.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from mlsse.data.schema import empty_curated_frame
from mlsse.errors import DataError, MlsseError, ModelError
from mlsse.io import file_sha256, write_csv_atomic, write_text_atomic
from mlsse.paths import home_dir

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
#: The shipped, read-only base model: the one active while ``state.json`` names none.
BASE_MODEL = "default"


class BusyError(MlsseError):
    """Another process holds the store lock (e.g. a second retrain)."""


def read_state(home: Path | None = None) -> dict:
    """Return the committed state of the workspace.

    Parameters
    ----------
    home : pathlib.Path, optional
        The workspace root; default ``$MLSSE_HOME`` (:func:`mlsse.paths.home_dir`).

    Returns
    -------
    dict
        ``batches``, ``models``, ``active`` and ``history``; empty if nothing was ever committed.

    Raises
    ------
    DataError
        Naming ``state.json`` if it is damaged.
    """
    path = (home or home_dir()) / STATE_FILE
    empty = {"batches": [], "models": [], "active": None, "history": []}
    if not path.is_file():
        return empty
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"damaged ({exc}); restore it from a backup or move it away to start afresh",
                        path=path) from None
    if not isinstance(state, dict) or not set(empty) <= set(state):
        missing = sorted(set(empty) - set(state)) if isinstance(state, dict) else list(empty)
        raise DataError(f"damaged (missing {', '.join(missing)}); restore it from a backup or move it away to "
                        "start afresh", path=path)
    return state


def write_state(state: dict, home: Path | None = None) -> None:
    """Commit a state by replacing ``state.json`` atomically.

    Parameters
    ----------
    state : dict
        The whole state, as :func:`read_state` returns it.
    home : pathlib.Path, optional
        The workspace root; default ``$MLSSE_HOME``.
    """
    write_text_atomic(json.dumps(state, indent=1, sort_keys=True) + "\n", (home or home_dir()) / STATE_FILE)


def register_batch(state: dict, path: Path, *, batch_id: str, source_file: str, sha256: str, date: str,
                   rows: int) -> dict:
    """Record a staged batch file in ``state``; it is committed by the next :func:`write_state`.

    Parameters
    ----------
    state : dict
        The state being changed (:func:`read_state`), changed in place.
    path : pathlib.Path
        The batch file at its final name (:func:`stage_batch`); its bytes' SHA-256 is recorded, so an edit made
        after the commit is refused on use (:func:`committed_user_rows`).
    batch_id : str
        The batch's id.
    source_file : str
        The name of the lab file the rows came from.
    sha256 : str
        SHA-256 hex digest of that lab file's bytes.
    date : str
        ISO date of the commit.
    rows : int
        Rows in the batch.

    Returns
    -------
    dict
        The batch's record.

    Raises
    ------
    MlsseError
        If ``state`` has a batch of that id already.
    """
    if any(b["id"] == batch_id for b in state["batches"]):
        raise MlsseError(f"batch {batch_id} exists already; batches are never rewritten")
    entry = {"id": batch_id, "file": path.name, "source_file": source_file, "sha256": sha256,
             "file_sha256": file_sha256(path), "date": date, "rows": int(rows)}
    state["batches"].append(entry)
    return entry


def register_model(state: dict, directory: Path, *, name: str, created: str, batches: list[str],
                   metrics: dict) -> dict:
    """Record a model version in ``state``; it is committed by the next :func:`write_state`.

    Parameters
    ----------
    state : dict
        The state being changed (:func:`read_state`), changed in place.
    directory : pathlib.Path
        The version's directory at its final name under ``$MLSSE_HOME/models``; the SHA-256 of each of its files
        is recorded, so a file changed after the commit is refused on load.
    name : str
        The version's name.
    created : str
        ISO date of the commit.
    batches : list of str
        The ids of the lab batches it was trained on.
    metrics : dict
        Its grouped-CV metrics (log10 S/cm or eV), as its metadata holds them.

    Returns
    -------
    dict
        The version's record.

    Raises
    ------
    MlsseError
        If ``state`` has a version of that name already, or the name is the base model's.
    """
    if name == BASE_MODEL or any(m["name"] == name for m in state["models"]):
        raise MlsseError(f"model version {name!r} exists already; choose another --name")
    entry = {"name": name, "dir": directory.name, "created": created, "batches": list(batches), "metrics": metrics,
             "files_sha256": {path.name: file_sha256(path) for path in sorted(directory.iterdir())
                              if path.is_file()}}
    state["models"].append(entry)
    return entry


def activate(state: dict, name: str) -> str:
    """Make ``name`` the active model in ``state``; the one it replaces goes on the rollback history.

    Committed by the next :func:`write_state`. Activating the model already active changes nothing.

    Parameters
    ----------
    state : dict
        The state being changed (:func:`read_state`), changed in place.
    name : str
        :data:`BASE_MODEL` or a version recorded in ``state``.

    Returns
    -------
    str
        The model active before.
    """
    previous = state.get("active") or BASE_MODEL
    if previous != name:
        state["history"].append(previous)
        state["active"] = name
    return previous


def roll_back(state: dict) -> str:
    """Re-activate in ``state`` the model active before the current one; committed by the next :func:`write_state`.

    Parameters
    ----------
    state : dict
        The state being changed (:func:`read_state`), changed in place.

    Returns
    -------
    str
        The model now active.

    Raises
    ------
    ModelError
        If there is nothing to roll back to.
    """
    if not state["history"]:
        raise ModelError("nothing to roll back to: the active model is the first one used")
    state["active"] = state["history"].pop()
    return state["active"]


@contextmanager
def store_lock(home: Path | None = None):
    """Hold the store's lock for the block.

    Parameters
    ----------
    home : pathlib.Path, optional
        The workspace root (created if missing); default ``$MLSSE_HOME``.

    Raises
    ------
    BusyError
        At once, instead of waiting or corrupting, if another process holds the lock.
    """
    from filelock import FileLock, Timeout

    home = home or home_dir()
    home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(home / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BusyError(f"another mlsse retrain is running (lock {home / LOCK_FILE}); wait for it to finish") from None
    try:
        yield
    finally:
        lock.release()


def staging_dir(home: Path | None = None) -> Path:
    """Return an empty staging directory; call it under the lock.

    Orphans of interrupted runs in it are removed first.

    Parameters
    ----------
    home : pathlib.Path, optional
        The workspace root; default ``$MLSSE_HOME``.

    Returns
    -------
    pathlib.Path
        ``<home>/staging``.
    """
    path = (home or home_dir()) / "staging"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def stage_batch(rows: pd.DataFrame, batch_id: str, home: Path | None = None) -> Path:
    """Write a batch's rows to their final, not yet committed, file name.

    Parameters
    ----------
    rows : pandas.DataFrame
        The batch's curated rows.
    batch_id : str
        The batch's id; names the file.
    home : pathlib.Path, optional
        The workspace root; default ``$MLSSE_HOME``.

    Returns
    -------
    pathlib.Path
        ``<home>/store/batches/<batch_id>.csv``.

    Raises
    ------
    MlsseError
        If that file exists already: batches are never rewritten.
    """
    path = (home or home_dir()) / "store" / "batches" / f"{batch_id}.csv"
    if path.exists():
        raise MlsseError(f"batch {batch_id} exists already; batches are never rewritten")
    return write_csv_atomic(rows, path)


def committed_user_rows(home: Path | None = None, batch_ids=None) -> pd.DataFrame:
    """Return the committed batches' rows in commit order.

    Parameters
    ----------
    home : pathlib.Path, optional
        The workspace root; default ``$MLSSE_HOME``.
    batch_ids : collection of str, optional
        Only the batches with these ids (e.g. those a model version was trained on); default all.

    Returns
    -------
    pandas.DataFrame
        The rows as strings (``censored`` as bool), each row's ``batch`` column holding its batch's id (also for
        batch files written before the column existed); an empty curated frame if there are none.

    Raises
    ------
    MlsseError
        If a batch file is not the one committed (its SHA-256 differs from ``state.json``'s).
    """
    home = home or home_dir()
    frames = []
    for b in read_state(home)["batches"]:
        if batch_ids is not None and b["id"] not in batch_ids:
            continue
        path = home / "store" / "batches" / b["file"]
        # An edited batch would be trained on silently: its bytes must be those committed.
        if b.get("file_sha256") and (not path.is_file() or file_sha256(path) != b["file_sha256"]):
            raise MlsseError(f"batch {b['id']}: {path} was changed after it was committed (its SHA-256 is not the "
                             "one state.json recorded); nothing trains on it: restore the file")
        frames.append(pd.read_csv(path, dtype=str, keep_default_na=False).assign(batch=b["id"]))
    if not frames:
        return empty_curated_frame()
    rows = pd.concat(frames, ignore_index=True)
    rows["censored"] = rows["censored"].eq("True")
    return rows
