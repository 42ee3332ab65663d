"""The `stepwise` command of the stepwise-kernel wheel: a shim that runs the bundled binary.

The wheel holds the Swift binary (`bin/stepwise`, linked with the static Swift standard library)
and, in `stepwise_kernel.libs/`, the shared libraries it needs (libzmq, libcrypto, OpenBLAS,
SQLite, libcurl and theirs), so no Swift and no system packages are needed. This shim only
prepares the environment and replaces itself with the binary (`os.execv`), so signals, exit
codes and the kernel's process are the binary's own.
"""
import json
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.join(PACKAGE_DIR, "bin", "stepwise")
BUILD_INFO = os.path.join(PACKAGE_DIR, "build.json")


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo, or None where that cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def required_cpu_flags():
    """The instruction-set extensions the bundled binary was compiled for (see build.json)."""
    try:
        with open(BUILD_INFO) as f:
            return list(json.load(f).get("cpu_flags", []))
    except (OSError, ValueError):
        return []


def main():
    flags = cpu_flags()
    if flags is not None:
        missing = [flag for flag in required_cpu_flags() if flag not in flags]
        if missing:
            sys.stderr.write(
                "stepwise: this wheel's binary needs a CPU with %s, which this one lacks.\n"
                "Build a wheel for it with `make wheel TARGET_CPU=x86-64` (see README.md).\n"
                % ", ".join(missing))
            return 1
    # Debian's OpenBLAS 0.3.21 picks slow kernels on recent AVX-512 CPUs unless told before it
    # loads; the binary would re-execute itself to fix that, setting it here saves the re-exec.
    if flags and "avx512f" in flags:
        os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
    # `stepwise install --sys-prefix` installs into the environment that holds this wheel,
    # even when that environment is not activated.
    os.environ["STEPWISE_SYS_PREFIX"] = sys.prefix
    try:
        os.execv(BINARY, [BINARY] + sys.argv[1:])
    except OSError as error:
        sys.stderr.write("stepwise: cannot run %s: %s\n" % (BINARY, error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
