"""`stepwise install`: the folder Jupyter looks in, the absolute argv, the logos and the env."""
import json
import os
import pathlib
import subprocess
import sys

VENV_BIN = pathlib.Path(sys.executable).parent


def has_avx512():
    try:
        return " avx512f" in pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def kernelspecs(env):
    out = subprocess.run([str(VENV_BIN / "jupyter"), "kernelspec", "list", "--json"], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return json.loads(out)["kernelspecs"]


def test_install_prefix_is_found_by_jupyter(stepwise_bin, tmp_path):
    subprocess.run([stepwise_bin, "install", "--prefix", str(tmp_path), "--name", "sw-prefix"],
                   check=True, capture_output=True, timeout=60)
    folder = tmp_path / "share" / "jupyter" / "kernels" / "sw-prefix"
    for name in ("kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        assert (folder / name).is_file(), name
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "share" / "jupyter"))
    spec = kernelspecs(env)["sw-prefix"]["spec"]
    assert os.path.isabs(spec["argv"][0]) and os.access(spec["argv"][0], os.X_OK)
    assert spec["argv"][1:] == ["kernel", "-f", "{connection_file}"]
    assert spec["language"] == "stepwise" and spec["interrupt_mode"] == "message"
    assert ("OPENBLAS_CORETYPE" in spec.get("env", {})) == has_avx512()


def test_install_user_honours_jupyter_data_dir(stepwise_bin, tmp_path):
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path))
    subprocess.run([stepwise_bin, "install", "--user", "--name", "sw-user"], env=env,
                   check=True, capture_output=True, timeout=60)
    assert (tmp_path / "kernels" / "sw-user" / "kernel.json").is_file()
    assert "sw-user" in kernelspecs(env)


def test_install_rejects_two_locations(stepwise_bin, tmp_path):
    r = subprocess.run([stepwise_bin, "install", "--user", "--prefix", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
