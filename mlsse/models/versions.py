"""Versions of the libraries a model depends on, recorded in every saved model."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

_PACKAGES = ["mlsse", "xgboost", "xgboost-cpu", "scikit-learn", "matminer", "pymatgen", "numpy", "pandas", "optuna"]


def library_versions() -> dict[str, str]:
    """Return ``{package: version}`` for the packages that shape a model's predictions."""
    found = {}
    for package in _PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
