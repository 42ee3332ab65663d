"""Shared fixtures for the tests that drive the built `stepwise` binary from Python.

Before any test runs, `stepwise install --prefix TMP` puts the kernelspec in a temporary prefix
and JUPYTER_PATH points there, so every Jupyter client in these tests (jupyter_kernel_test,
nbclient, KernelManager) finds the kernel named `stepwise` exactly as a user's Jupyter would.
"""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KERNEL_NAME = "stepwise"


def binary_path() -> str:
    return os.environ.get("STEPWISE") or str(ROOT / ".build" / "release" / "stepwise")


def pytest_configure(config):
    prefix = tempfile.mkdtemp(prefix="stepwise-kernelspec-")
    config._stepwise_prefix = prefix
    if os.access(binary_path(), os.X_OK):
        subprocess.run([binary_path(), "install", "--prefix", prefix, "--name", KERNEL_NAME],
                       check=True, capture_output=True, timeout=60)
    os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, "_stepwise_prefix", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def stepwise_bin() -> str:
    path = binary_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"stepwise binary not found at {path}: run `make build` first")
    return path


@pytest.fixture
def kernel(stepwise_bin):
    """A started Stepwise kernel and a ready blocking client; shut down afterwards."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=20)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=False)
