"""The user's versioned, append-only data store and the one state file that commits every change.

Layout under ``$MLSSE_HOME``::

    state.json            # the single commit point: batches, model versions, the active model, its history
    store/batches/*.csv   # immutable batch files (curated columns); never rewritten once committed
    staging/              # work in progress; anything here not referenced by state.json is an orphan

A change (new batch, new model) is prepared in ``staging/``, moved to its final name, and only then becomes
real when ``state.json`` is replaced atomically. A process killed at any point leaves ``state.json`` — and so
the data and the active model it names — exactly as before.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from mlsse.errors import DataError, MlsseError
from mlsse.io import file_sha256, write_text_atomic
from mlsse.paths import home_dir

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"


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
    from mlsse.io import write_csv_atomic

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
    from mlsse.data.schema import empty_curated_frame

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
