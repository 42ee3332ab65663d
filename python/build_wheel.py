"""Writes the stepwise-kernel wheel around a built `stepwise` binary, before `auditwheel repair`.

    python python/build_wheel.py --binary .build/release/stepwise --out DIR [--cpu-flags avx2,fma]

The wheel holds the package `stepwise_kernel` (the shim in this folder, the binary as
`stepwise_kernel/bin/stepwise`, and `build.json`) and a console script `stepwise`. It is tagged
`py3-none-linux_x86_64`; `auditwheel repair` then copies in the shared libraries the binary needs
and retags it manylinux. No build backend is needed: a wheel is a zip with a fixed layout
(PEP 427), and writing it here keeps the tag and the binary's mode under our control.
"""
import argparse
import base64
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "stepwise_kernel"
DIST = "stepwise-kernel"
SUMMARY = "Stepwise, a Jupyter kernel for distilling step-by-step: the binary and its libraries"


def record_entry(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def binary_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True,
                         timeout=60).stdout.strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+", out):
        sys.exit("build_wheel: `%s --version` printed %r, not a version" % (binary, out))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the built stepwise executable")
    parser.add_argument("--out", required=True, help="folder for the wheel")
    parser.add_argument("--cpu-flags", default="", help="CPU flags the binary needs (comma-separated)")
    parser.add_argument("--target-cpu", default="", help="the -target-cpu it was compiled for (recorded)")
    args = parser.parse_args()

    version = binary_version(args.binary)
    machine = platform.machine()
    tag = "py3-none-linux_%s" % machine
    dist_info = "%s-%s.dist-info" % (NAME, version)
    files = []  # (path in the wheel, bytes, unix mode)

    for source in ("__init__.py", "__main__.py"):
        with open(os.path.join(HERE, NAME, source), "rb") as f:
            files.append(("%s/%s" % (NAME, source), f.read(), 0o644))
    with open(args.binary, "rb") as f:
        files.append(("%s/bin/stepwise" % NAME, f.read(), 0o755))
    build_info = {"version": version, "target_cpu": args.target_cpu,
                  "cpu_flags": [flag for flag in args.cpu_flags.split(",") if flag]}
    files.append(("%s/build.json" % NAME, (json.dumps(build_info, indent=1) + "\n").encode(), 0o644))

    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: %s" % DIST,
        "Version: %s" % version,
        "Summary: %s" % SUMMARY,
        "License: see the project's repository",
        "Requires-Python: >=3.8",
        "",
        "The `stepwise` command (kernel, install, run, repl, score, explain, train, sweep, data, bench).",
        "After `pip install`, run `stepwise install --sys-prefix` (or `--user`) to register the kernel.",
        "",
    ])
    wheel = "\n".join(["Wheel-Version: 1.0", "Generator: stepwise python/build_wheel.py",
                       "Root-Is-Purelib: false", "Tag: %s" % tag, ""])
    entry_points = "[console_scripts]\nstepwise = %s:main\n" % NAME
    files += [("%s/METADATA" % dist_info, metadata.encode(), 0o644),
              ("%s/WHEEL" % dist_info, wheel.encode(), 0o644),
              ("%s/entry_points.txt" % dist_info, entry_points.encode(), 0o644)]

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "%s-%s-%s.whl" % (NAME, version, tag))
    records = [record_entry(name, data) for name, data, _ in files] + ["%s/RECORD,," % dist_info]
    files.append(("%s/RECORD" % dist_info, ("\n".join(records) + "\n").encode(), 0o644))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16   # a regular file with this mode
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    print(path)


if __name__ == "__main__":
    main()
