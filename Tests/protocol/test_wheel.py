"""The stepwise-kernel wheel, as a user without Swift gets it: `pip install` into a fresh venv,
`stepwise install --sys-prefix` from that venv (not activated), then the Jupyter project's kernel
test suite (test_kernel_suite.py) against the kernel that install registered.

The wheel comes from `make wheel` (dist/, or STEPWISE_WHEEL_DIR). Without one these tests skip,
unless STEPWISE_REQUIRE_WHEEL=1 (as `make test` sets), when that is a failure. The venv gets
jupyter_client and jupyter_kernel_test from PyPI (or pip's cache).
"""
import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEEL_DIR = pathlib.Path(os.environ.get("STEPWISE_WHEEL_DIR", ROOT / "dist"))


def the_wheel():
    wheels = sorted(WHEEL_DIR.glob("stepwise_kernel-*-manylinux*.whl"))
    if not wheels:
        reason = f"no stepwise_kernel manylinux wheel in {WHEEL_DIR}: run `make wheel`"
        if os.environ.get("STEPWISE_REQUIRE_WHEEL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return wheels[-1]


def clean_env(tmp, venv=None):
    """An environment with no venv activated, no Jupyter paths of ours, and an empty user data dir."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "JUPYTER_PATH", "PYTHONPATH", "STEPWISE_SYS_PREFIX")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(pathlib.Path(sys.executable).parent)))
    env["JUPYTER_DATA_DIR"] = str(tmp / "jupyter-user-data")
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "jupyter-runtime")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the wheel installed and the kernelspec registered by `--sys-prefix`."""
    wheel = the_wheel()
    tmp = tmp_path_factory.mktemp("wheel")
    venv = tmp / "venv"
    env = clean_env(tmp)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel),
                          "jupyter_client", "jupyter_kernel_test"],
                         capture_output=True, text=True, timeout=600, env=env)
    assert pip.returncode == 0, pip.stderr[-3000:]
    install = subprocess.run([str(venv / "bin" / "stepwise"), "install", "--sys-prefix"],
                             capture_output=True, text=True, timeout=120, cwd=tmp, env=env)
    assert install.returncode == 0, install.stderr
    return venv, env, install.stdout


def test_sys_prefix_install_lands_in_the_venv_and_points_at_the_bundled_binary(installed):
    venv, env, out = installed
    spec_dir = venv / "share" / "jupyter" / "kernels" / "stepwise"
    assert f"Installed kernelspec stepwise in {spec_dir}" in out
    spec = json.loads((spec_dir / "kernel.json").read_text())
    binary = pathlib.Path(spec["argv"][0])
    assert binary.name == "stepwise" and binary.parent.name == "bin" and binary.parent.parent.name == "stepwise_kernel"
    assert str(binary).startswith(str(venv.resolve())) or str(binary).startswith(str(venv))
    # Every user of the environment can run it: world-executable binary, world-readable libraries.
    assert binary.stat().st_mode & stat.S_IXOTH
    libs = list((binary.parent.parent.parent / "stepwise_kernel.libs").iterdir())
    assert any("libzmq" in p.name for p in libs) and any("openblas" in p.name for p in libs)
    assert all(p.stat().st_mode & stat.S_IROTH for p in libs)
    assert not (pathlib.Path(env["JUPYTER_DATA_DIR"]) / "kernels" / "stepwise").exists()


def test_the_bundled_binary_uses_only_bundled_libraries(installed):
    venv, env, _ = installed
    binary = next((venv / "lib").glob("python3*/site-packages/stepwise_kernel/bin/stepwise"))
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=60).stdout
    assert "not found" not in ldd
    for lib in ("libzmq", "libopenblas", "libcrypto", "libsqlite3", "libcurl", "libgfortran"):
        line = next(line for line in ldd.splitlines() if lib in line)
        assert "stepwise_kernel.libs" in line, line
    assert "libswift" not in ldd and "libFoundation" not in ldd
    version = subprocess.run([str(venv / "bin" / "stepwise"), "--version"], capture_output=True, text=True,
                             timeout=60, env=env)
    assert version.returncode == 0 and version.stdout.strip().count(".") == 2


def test_kernel_suite_against_the_installed_kernel(installed, tmp_path):
    """jupyter_kernel_test's suite, run by the venv's Python, finds the kernel via sys.prefix."""
    venv, env, _ = installed
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "from jupyter_client.kernelspec import KernelSpecManager as M; "
                            "print(M().get_kernel_spec('stepwise').argv[0])"],
                           capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert "site-packages/stepwise_kernel/bin/stepwise" in where.stdout
    suite = subprocess.run([python, "-m", "unittest", "-v", "test_kernel_suite"], capture_output=True, text=True,
                           timeout=600, env=env, cwd=pathlib.Path(__file__).parent)
    assert suite.returncode == 0, suite.stderr[-5000:]
    assert "OK" in suite.stderr.splitlines()[-1]


def test_the_shim_refuses_a_cpu_without_the_binarys_instruction_set(installed):
    """On a CPU older than the binary's target the shim explains instead of dying with SIGILL."""
    venv, env, _ = installed
    code = ("import sys, stepwise_kernel as s; s.cpu_flags = lambda: {'sse2'}; "
            "s.required_cpu_flags = lambda: ['avx2', 'fma']; sys.exit(s.main())")
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1
    assert "needs a CPU with avx2, fma" in r.stderr
