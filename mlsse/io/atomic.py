"""Writing files and directories atomically (a reader never sees half a file), and hashing files."""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path):
    """Write a file atomically: yield a temporary path beside ``target`` that takes its name on success.

    On success the temporary file is renamed over ``target`` in one step; on any error it is removed, so a
    reader never sees a half-written file. The file gets the usual permissions (``0666`` less the umask).

    Parameters
    ----------
    target : str or pathlib.Path
        The file to write; missing parent directories are created.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    IsADirectoryError
        If ``target`` is a directory.
    OSError
        If the temporary file cannot be created (naming ``target``, not the temporary file).
    """
    target = Path(target)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(target))
    refuse_to_replace(target)
    with temporary_path(target) as tmp_path:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; the final file gets the usual permissions
        yield tmp_path
        os.replace(tmp_path, target)


@contextmanager
def temporary_path(target: str | Path):
    """Yield a new empty temporary file beside ``target`` (``.NAME.PID.*.tmp``), removed on every way out.

    Temporaries that a killed process left beside ``target`` (their process is gone) are removed first, so
    ``kill -9`` leaves at most one run's worth of them, until the next run.

    Parameters
    ----------
    target : str or pathlib.Path
        The file the temporary stands in for; missing parent directories are created.

    Yields
    ------
    pathlib.Path
        The temporary file.

    Raises
    ------
    OSError
        If it cannot be created (naming ``target``).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(target)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, f"cannot write here ({exc.strerror})", str(target)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove ``.NAME.PID.*.tmp`` files beside ``target`` whose process no longer runs."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\..*\.tmp$")
    for path in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        match = pattern.match(path.name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (PermissionError, OverflowError):  # someone else's live process, or not a pid
            continue


def refuse_to_replace(target: str | Path) -> None:
    """Raise unless ``target`` is absent or a regular file its owner may write: a rename over a device, FIFO or
    socket would destroy it, and a read-only file was made read-only on purpose (root's ``os.access`` would say
    yes to both, so the mode bits decide).

    Parameters
    ----------
    target : str or pathlib.Path
        The file about to be replaced.

    Raises
    ------
    OSError
        Naming ``target``: not a regular file, or read-only.
    """
    target = Path(target)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(target))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EEXIST, "is not a regular file (a device, FIFO or socket): not replacing it",
                      str(target))
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(errno.EACCES, "is read-only: not replacing it (make it writable, or write "
                              "elsewhere)", str(target))


@contextmanager
def atomic_directory(target: str | Path, replaceable=lambda directory: False):
    """Write a directory atomically: yield a new, empty directory beside ``target`` that takes its name on success.

    On any error the new directory is removed. A reader never sees old and new files mixed: at worst, between
    two renames, no ``target`` at all. A process killed right there leaves the earlier directory as
    ``.<name>.*.old``; the next call for the same ``target`` renames it back first
    (:func:`restore_interrupted_replacement`).

    Parameters
    ----------
    target : str or pathlib.Path
        The directory to write; missing parent directories are created.
    replaceable : callable, optional
        ``replaceable(target) -> bool``: whether an existing, non-empty ``target`` may be replaced. Default:
        never.

    Yields
    ------
    pathlib.Path
        The new directory to write into.

    Raises
    ------
    FileExistsError
        Before anything is written, if ``target`` is a file, a symbolic link, or a non-empty directory that
        ``replaceable`` refuses, so no one's files are deleted.
    OSError
        If the new directory cannot be created (naming ``target``).
    """
    target = Path(target)
    restore_interrupted_replacement(target)
    if target.is_symlink() or (target.exists() and not (target.is_dir() and (not any(target.iterdir())
                                                                             or replaceable(target)))):
        raise FileExistsError(errno.EEXIST, "exists and is not a directory this can replace", str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".new"))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write here ({exc.strerror})", str(target)) from None
    old = staging.with_suffix(".old")
    try:
        yield staging
        umask = os.umask(0)
        os.umask(umask)
        # mkdtemp makes 0700; once written (a read-only mode would have stopped that), the new directory gets
        # the permissions of the one it replaces, else the usual ones.
        os.chmod(staging, target.stat().st_mode & 0o7777 if target.exists() else 0o777 & ~umask)
        try:
            if target.exists():
                target.rename(old)
            staging.rename(target)
        except BaseException:  # also an interrupt between the renames: put the previous directory back
            if old.exists() and not target.exists():
                old.rename(target)
            raise
        shutil.rmtree(old, ignore_errors=True)  # the new directory is in place; a leftover is only clutter
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def restore_interrupted_replacement(target: str | Path) -> Path | None:
    """Undo a replacement :func:`atomic_directory` left half done.

    If ``target`` is missing because a process was killed between :func:`atomic_directory`'s two renames, the
    directory it had moved aside (``.<name>.*.old``, the newest if several) is renamed back to ``target``.

    Parameters
    ----------
    target : str or pathlib.Path
        The directory that may be missing.

    Returns
    -------
    pathlib.Path or None
        The path the directory was renamed back from, or None if there was nothing to restore.
    """
    target = Path(target)
    if target.exists() or target.is_symlink() or not target.parent.is_dir():
        return None
    aside = sorted(target.parent.glob(f".{glob.escape(target.name)}.*.old"), key=lambda p: p.stat().st_mtime)
    if not aside:
        return None
    aside[-1].rename(target)
    return aside[-1]


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_text_atomic(text: str, target: str | Path) -> Path:
    """Write ``text`` to ``target`` as UTF-8 atomically.

    Parameters
    ----------
    text : str
        The content.
    target : str or pathlib.Path
        The file.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
