"""Shared fixtures for the tests that drive the built `stepwise` binary from Python."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stepwise_bin() -> str:
    path = os.environ.get("STEPWISE") or str(ROOT / ".build" / "release" / "stepwise")
    if not os.access(path, os.X_OK):
        pytest.fail(f"stepwise binary not found at {path}: run `make build` first")
    return path
