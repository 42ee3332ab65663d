"""The Makefile's promises to a newcomer: a clear message without Swift >= 6.0, and a `make lab`
that builds and installs only what the lab needs (no teacher server, no test build)."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def make(*args, env=None):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env or os.environ)


def test_no_swift_says_what_is_missing_and_where_to_get_it():
    r = make("toolchain", "SWIFT=/nonexistent/bin/swift")
    assert r.returncode != 0
    assert "Stepwise needs Swift 6.0 or newer to build; `/nonexistent/bin/swift` was not found on PATH" in r.stderr
    assert "https://www.swift.org/install/linux/" in r.stderr and "swiftly" in r.stderr
    assert "No such file or directory" not in r.stderr


def test_an_old_swift_is_named(tmp_path):
    fake = tmp_path / "swift"
    fake.write_text('#!/bin/sh\necho "Swift version 5.10.1 (swift-5.10.1-RELEASE)"\n')
    fake.chmod(0o755)
    r = make("toolchain", f"SWIFT={fake}")
    assert r.returncode != 0
    assert f"`{fake}` is Swift 5.10" in r.stderr


def test_every_building_target_checks_the_toolchain_first():
    for target in ("binary", "build", "wheel", "test", "lab"):
        r = make("-n", "-B", target, "SWIFT=/nonexistent/bin/swift")
        commands = [line for line in r.stdout.splitlines() if line.strip()]
        assert commands and commands[0] == "scripts/swift.sh --check", (target, commands[:3])


def test_lab_builds_only_what_the_lab_needs():
    r = make("-n", "-B", "lab")
    assert r.returncode == 0, r.stderr
    assert "--static-swift-stdlib" in r.stdout and "requirements-lab.txt" in r.stdout
    assert "fetch-models.sh" in r.stdout and "jupyter lab" in r.stdout and "install --prefix" in r.stdout
    for test_only in ("requirements-teacher.txt", "requirements-test.txt", "--build-tests", "llama"):
        assert test_only not in r.stdout, test_only
