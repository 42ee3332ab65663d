"""The command line: version, help, and the subcommands the README promises."""
import subprocess


def run(binary, *args, timeout=60):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)


def test_version(stepwise_bin):
    r = run(stepwise_bin, "--version")
    assert r.returncode == 0
    assert r.stdout.strip().count(".") == 2


def test_help_lists_subcommands(stepwise_bin):
    r = run(stepwise_bin, "--help")
    assert r.returncode == 0
    for sub in ("run", "repl", "kernel", "install"):
        assert f"\n  {sub} " in r.stdout


def test_sweep_resumes_and_refuses_other_settings(stepwise_bin, tmp_path):
    """A sweep folder remembers its settings: the same command resumes, a changed one is refused."""
    out = tmp_path / "sweep"
    base = ["sweep", "--task", "synthetic", "--methods", "finetune", "--fractions", "1", "--seeds", "0",
            "--train-size", "16", "--test-size", "4", "--steps", "2", "--batch", "4", "--threads", "1",
            "--vocabulary", "300", "--out", str(out)]
    first = run(stepwise_bin, *base, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "cells=1 already done=0" in first.stdout
    assert (out / "settings.txt").read_text().count("lr=0.001\n") == 1
    assert len((out / "journal.jsonl").read_text().splitlines()) == 1
    again = run(stepwise_bin, *base, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "cells=1 already done=1" in again.stdout
    changed = run(stepwise_bin, *base, "--lr", "0.01", "--schedule", "cosine")
    assert changed.returncode != 0
    assert "records a sweep made with other settings" in changed.stderr
    assert "lr=0.01" in changed.stderr and "schedule=cosine" in changed.stderr
    assert len((out / "journal.jsonl").read_text().splitlines()) == 1


def test_synthetic_difficulty_errors_name_the_setting(stepwise_bin, tmp_path):
    r = run(stepwise_bin, "train", "--task", "synthetic", "--difficulty", "classroom,steps=0-4")
    assert r.returncode != 0
    assert "steps must lie within 1...3, got 0...4" in r.stderr
    r = run(stepwise_bin, "sweep", "--task", "synthetic", "--difficulty", "classroom,colour=red", "--out", str(tmp_path))
    assert r.returncode != 0
    assert 'unknown setting "colour"' in r.stderr
