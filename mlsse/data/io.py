"""Reading input tables with located errors, and writing files atomically."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from mlsse.errors import DataError


def read_table(path: str | Path, required: Iterable[str] = (), **read_csv_kwargs) -> pd.DataFrame:
    """Read a CSV file, raising ``DataError`` naming the file (and line) when it is missing, undecodable,
    malformed, or lacks a required column. Values are read as strings; callers convert and check them."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=path)
    read_csv_kwargs.setdefault("dtype", str)
    read_csv_kwargs.setdefault("keep_default_na", False)
    try:
        frame = pd.read_csv(path, encoding="utf-8", **read_csv_kwargs)
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8 CSV", path=path) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", path=path) from None
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        detail = str(exc).split(". ", 1)[-1].strip()
        raise DataError(f"malformed CSV: {detail}", path=path, line=line) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(repr(m) for m in missing)}; found {list(frame.columns)}",
                        path=path, line=1)
    return frame


@contextmanager
def atomic_path(target: str | Path):
    """Yield a temporary path beside ``target``; on success it is renamed over ``target`` in one step,
    on any error it is removed, so a reader never sees a half-written file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the final file gets the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_csv_atomic(frame: pd.DataFrame, target: str | Path) -> Path:
    """Write ``frame`` to ``target`` as CSV atomically and return the path."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(target)


def write_text_atomic(text: str, target: str | Path) -> Path:
    """Write ``text`` to ``target`` atomically (UTF-8) and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
