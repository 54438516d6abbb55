"""The on-disk cache of composition feature rows, one ``.npz`` file per feature preset."""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np

from mlsse.errors import MlsseWarning
from mlsse.features.preset import FEATURIZER_VERSION
from mlsse.io import atomic_path
from mlsse.paths import cache_dir

#: Sub-directory of ``mlsse.paths.cache_dir()`` holding the feature caches.
CACHE_SUBDIR = "features"
#: Rows a cache file keeps at most (the most recently added): about 32 MB of composition rows. Each featurizing
#: call reads and rewrites the file, so its size, not the query's, would otherwise set the time and memory of a
#: run.
DEFAULT_MAX_ROWS = 10_000


class FeatureCache:
    """Rows of features on disk, one ``.npz`` file per featurizer version.

    The file holds ``keys`` (e.g. composition keys), ``labels`` and ``values`` (float64). Writes merge with what
    is on disk under a file lock and replace the file atomically, so parallel runs lose nothing and readers never
    see a half-written file; the file keeps the ``max_rows`` most recently added rows. A file that is unreadable
    or has other labels reads as empty. Deleting the directory only costs recomputation.

    Parameters
    ----------
    directory : str or pathlib.Path, optional
        Where the files live; default ``mlsse.paths.cache_dir()/features``.
    version : str, optional
        Names the file; default :data:`~mlsse.features.preset.FEATURIZER_VERSION`.
    max_rows : int, default DEFAULT_MAX_ROWS
        Rows the file keeps at most; the oldest go first.

    Attributes
    ----------
    directory : pathlib.Path
        As given, or the default.
    version : str
        As given, or the default.
    path : pathlib.Path
        The file, ``<directory>/<version>.npz``.
    max_rows : int
        As given.
    """

    def __init__(self, directory: str | Path | None = None, version: str | None = None,
                 max_rows: int = DEFAULT_MAX_ROWS):
        self.directory = Path(directory) if directory is not None else cache_dir() / CACHE_SUBDIR
        self.version = version or FEATURIZER_VERSION
        self.path = self.directory / f"{self.version}.npz"
        self.max_rows = max_rows

    def _read(self, labels: list[str]) -> dict[str, np.ndarray]:
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if data["labels"].tolist() != list(labels):
                    return {}  # written by different feature code under the same name: ignore, overwrite later
                return dict(zip(data["keys"].tolist(), data["values"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            # Unreadable (truncated by a crash or a full disk): set it aside, so the rows are computed again and
            # the next write starts a good file, and say so once.
            aside = self.path.with_name(self.path.name + ".unreadable")
            try:
                os.replace(self.path, aside)
            except OSError:
                return {}
            warnings.warn(f"feature cache {self.path} could not be read ({type(exc).__name__}); set aside as "
                          f"{aside.name} and rebuilt", MlsseWarning, stacklevel=2)
            return {}

    def lookup(self, keys: Iterable[str], labels: list[str]) -> dict[str, np.ndarray]:
        """Return the cached rows for those of ``keys`` that are cached.

        Parameters
        ----------
        keys : iterable of str
            Row keys.
        labels : list of str
            The feature labels the rows must have been written with.

        Returns
        -------
        dict of str to numpy.ndarray
            Key → row, for the keys found.
        """
        stored = self._read(labels)
        return {key: stored[key] for key in keys if key in stored}

    def add(self, rows: dict[str, np.ndarray], labels: list[str]) -> None:
        """Merge ``rows`` into the cache file (atomic replace under a lock), keeping the ``max_rows`` newest.

        Parameters
        ----------
        rows : dict of str to numpy.ndarray
            Key → row of ``len(labels)`` values.
        labels : list of str
            The feature labels of the rows; a file with other labels is overwritten.

        Raises
        ------
        filelock.Timeout
            If the lock is not obtained within 120 s.
        """
        if not rows:
            return
        from filelock import FileLock

        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path) + ".lock", timeout=120):
            stored = self._read(labels)
            for key in rows:  # a row written again counts as new
                stored.pop(key, None)
            stored.update(rows)
            keys = list(stored)[-self.max_rows:] if self.max_rows > 0 else []
            values = np.array([stored[k] for k in keys], dtype=float).reshape(len(keys), len(labels))
            # A handle, not the temporary path: np.savez would append .npz to a path.
            with atomic_path(self.path) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, keys=np.array(keys, dtype=str), labels=np.array(labels, dtype=str), values=values)
