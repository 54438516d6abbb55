"""Shared fixtures: the real external data directory, and an isolated MLSSE_HOME for every test."""

from __future__ import annotations

import pytest

from mlsse.errors import DataError


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


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, external_dir):
    """A quickly trained model (60 trees per target, default parameters) on the real curated data."""
    import os

    from mlsse.models.workflow import train_and_save

    home = tmp_path_factory.mktemp("small_model_home")
    previous = os.environ.get("MLSSE_HOME")
    os.environ["MLSSE_HOME"] = str(home)
    try:
        return train_and_save(out=home / "small", seed=0, trials=0, storage=None,
                              base_params={"n_estimators": 60})
    finally:
        if previous is None:
            os.environ.pop("MLSSE_HOME", None)
        else:
            os.environ["MLSSE_HOME"] = previous
