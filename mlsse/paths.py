"""Where mlsse reads shipped data and keeps user state.

Nothing here is ever written at import time; directories are created by the code that writes into them.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from mlsse.errors import DataError

#: The repository root when running from a checkout or an editable install.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The project's own curated transcriptions of the seed papers.
DATASETS_DIR = PROJECT_ROOT / "datasets"
#: The shipped, read-only model versions.
SHIPPED_MODELS_DIR = PROJECT_ROOT / "models"


def external_data_dir(directory: str | Path | None = None) -> Path:
    """Return the directory holding the public data files (OBELiX, Liverpool, Laskowski).

    The files are read from there at run time and never copied into the repository.

    Parameters
    ----------
    directory : str or pathlib.Path, optional
        The directory to use. Default: ``$MLSSE_EXTERNAL_DIR``, else ``../shared/data/external`` beside the
        project.

    Returns
    -------
    pathlib.Path
        The directory, ``~`` expanded.

    Raises
    ------
    DataError
        If the directory does not exist.
    """
    if directory is None:
        directory = os.environ.get("MLSSE_EXTERNAL_DIR") or PROJECT_ROOT.parent / "shared" / "data" / "external"
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise DataError(f"external data directory not found: {path} (pass --external DIR or set MLSSE_EXTERNAL_DIR)")
    return path


def home_dir() -> Path:
    """Return the root of all user state: ``$MLSSE_HOME`` if set, else the platform's user data directory."""
    env = os.environ.get("MLSSE_HOME")
    return Path(env).expanduser() if env else Path(user_data_dir("mlsse", appauthor=False))


def cache_dir() -> Path:
    """Return the directory for rebuildable artefacts (built tables, feature caches)."""
    return home_dir() / "cache"
