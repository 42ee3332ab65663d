"""The command line: version, help, and the subcommands the README promises."""
import subprocess


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def test_version(stepwise_bin):
    r = run(stepwise_bin, "--version")
    assert r.returncode == 0
    assert r.stdout.strip().count(".") == 2


def test_help_lists_subcommands(stepwise_bin):
    r = run(stepwise_bin, "--help")
    assert r.returncode == 0
    for sub in ("run", "repl", "kernel", "install"):
        assert f"\n  {sub} " in r.stdout
