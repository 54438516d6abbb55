"""Shared fixtures: the real public data and a fixed slice of it, a small model trained on that slice, and an
isolated MLSSE_HOME for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlsse.errors import DataError

#: The packages whose versions shape the results; printed in the test report's header (CI's record of what
#: ``pip install`` resolved).
STACK = ["mlsse", "numpy", "scipy", "pandas", "scikit-learn", "xgboost", "xgboost-cpu", "pymatgen", "matminer",
         "optuna", "shap", "typer", "rich", "matplotlib"]
#: The fixed slice of the public files the small test model trains on (and slow paths read): the first lines of
#: each file (header included), every later line with a conductivity reported below detection ("<1E-10", for the
#: censored part) and the OBELiX lines of the argyrodite the tests name. ``None`` keeps the whole file.
SLICE_LINES = {"obelix_train.csv": 150, "liverpool_ionics.csv": 300, "laskowski_semi_formatted.csv": 200,
               "laskowski_doi_lookup.csv": None}
SLICE_OBELIX_MATERIALS = ("Li6PS5Cl",)


def pytest_report_header(config):
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in STACK:
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    return "stack: " + ", ".join(found)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test's user state (caches, stores, model versions) out of the real home directory."""
    home = tmp_path_factory.mktemp("mlsse_home")
    monkeypatch.setenv("MLSSE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def external_dir():
    """The public data directory beside the project; tests that need it skip when it is absent."""
    from mlsse.paths import external_data_dir

    try:
        return external_data_dir()
    except DataError as exc:
        pytest.skip(f"public data not available: {exc}")


def write_public_slice(external_dir: Path, directory: Path, lines: dict | None = None) -> Path:
    """Write the fixed slice (``lines``, default :data:`SLICE_LINES`) of the public files into ``directory``; the
    CIF archive is linked, not copied."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, count in (lines or SLICE_LINES).items():
        lines = (external_dir / name).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = lines if count is None else lines[:count] + [
            line for line in lines[count:] if ",<1E-10," in line
            or (name == "obelix_train.csv" and line.split(",")[1] in SLICE_OBELIX_MATERIALS)]
        (directory / name).write_text("".join(kept), encoding="utf-8")
    (directory / "obelix_train_cifs.tar.gz").symlink_to(external_dir / "obelix_train_cifs.tar.gz")
    return directory


@pytest.fixture(scope="session")
def public_slice(tmp_path_factory, external_dir):
    """A directory holding the fixed slice of the public files (:func:`write_public_slice`)."""
    return write_public_slice(external_dir, tmp_path_factory.mktemp("public_slice"))


def train_small_model(out: Path, external: Path) -> Path:
    """Train the small test model (60 trees per member, default hyper-parameters, seed 0) on the public files in
    ``external`` and the seed data, with its state in a home of its own beside ``out``; return its directory."""
    from mlsse.workspace.training import train_and_save

    previous = os.environ.get("MLSSE_HOME")
    os.environ["MLSSE_HOME"] = str(out.parent / f"{out.name}_home")
    try:
        return train_and_save(out=out, external_dir=external, seed=0, trials=0, storage=None,
                              base_params={"n_estimators": 60})
    finally:
        if previous is None:
            os.environ.pop("MLSSE_HOME", None)
        else:
            os.environ["MLSSE_HOME"] = previous


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, public_slice):
    """The small test model (:func:`train_small_model`) on the fixed slice of the public data."""
    return train_small_model(tmp_path_factory.mktemp("small_model") / "small", public_slice)
