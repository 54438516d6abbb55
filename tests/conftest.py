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
