#!/usr/bin/env python3
"""Times numpy's f32 matvec at the shapes the Swift benchmark printed (JSON lines on stdin) and
prints Swift's time over numpy's. numpy's threads are set per run through threadpoolctl when it
is installed, otherwise through OPENBLAS_NUM_THREADS in a child process."""
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import sys, time, numpy as np
rows, cols, min_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(0)
w = rng.standard_normal((rows, cols), dtype=np.float32) * 0.05
x = rng.standard_normal(cols, dtype=np.float32)
y = w @ x
n, t0 = 0, time.perf_counter()
while True:
    y = w @ x
    x[n % cols] += y[n % rows] * 1e-30
    n += 1
    el = time.perf_counter() - t0
    if el >= min_s and n >= 3:
        break
print(el / n)
"""


def numpy_seconds(rows, cols, threads, min_s):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", CHILD, str(rows), str(cols), str(min_s)],
                         env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main():
    min_s = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    cases = [json.loads(line) for line in sys.stdin if line.strip()]
    print(f"\nnumpy f32 matvec of the dequantised matrix (4 bytes/weight), same shapes:")
    for c in cases:
        s = numpy_seconds(c["rows"], c["columns"], c["threads"], min_s)
        gflops = 2 * c["rows"] * c["columns"] / s / 1e9
        print(f"{c['name']:<48} threads={c['threads']}  numpy {s*1e6:8.1f} us {gflops:6.1f} GFLOP/s"
              f"  | Swift {c['type']} {c['seconds']*1e6:8.1f} us  speed-up x{s / c['seconds']:.2f}")


if __name__ == "__main__":
    main()
