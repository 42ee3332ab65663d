#!/usr/bin/env python3
"""Engine benchmarks against their peers, same machine, same run, ratios printed.

  .venv-bench/bin/python bench/engine_bench.py [--rounds 2] [--only gemm|block]

Needs `swift build -c release --build-tests` first. Each case runs in its own process (peak RSS
is per process): the Swift side through the gated XCTest (NNTests.EngineBenchTests, which calls
EngineBench in Sources/NN/EngineBench.swift), the peers through bench/torch_peer.py. Cases alternate
engine/peer and repeat `--rounds` times; the best round of each side is reported, because the
machine is shared and noise only ever slows a run down.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable


def engine(case, threads, steps=10):
    env = dict(os.environ, STEPWISE_BENCH="1", STEPWISE_BENCH_CASE=case, STEPWISE_BENCH_THREADS=str(threads),
               STEPWISE_BENCH_STEPS=str(steps), OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "SkylakeX"))
    out = subprocess.run(["swift", "test", "-c", "release", "--skip-build", "--filter", "NNTests.EngineBenchTests"],
                         cwd=ROOT, env=env, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError("engine benchmark printed no result:\n" + out[-2000:])


def peer(*args):
    out = subprocess.run([PY, os.path.join(HERE, "torch_peer.py"), *map(str, args)], capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", choices=["gemm", "block"])
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    if args.only in (None, "gemm"):
        for n in (256, 512, 1024, 2048):
            for t in threads:
                ours = max((engine(f"gemm:{n}", t) for _ in range(args.rounds)), key=lambda r: r["gflops"])
                theirs = max((peer("gemm", n, t) for _ in range(args.rounds)), key=lambda r: r["gflops"])
                row = {"case": f"gemm {n}", "threads": t, "engine_gflops": round(ours["gflops"], 1),
                       "numpy_gflops": round(theirs["gflops"], 1), "ratio": round(ours["gflops"] / theirs["gflops"], 2),
                       "core": ours["core"]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.only in (None, "block"):
        for d, h in ((256, 4), (512, 8)):
            for t in threads:
                ours, theirs = [], []
                for _ in range(args.rounds):
                    ours.append(engine(f"block:{d}:{h}:16:128", t))
                    theirs.append(peer("block", d, h, 16, 128, t))
                o = min(ours, key=lambda r: r["ms_per_step"])
                p = min(theirs, key=lambda r: r["ms_per_step"])
                row = {"case": f"block d{d} h{h} B16 T128", "threads": t,
                       "engine_ms": round(o["ms_per_step"], 1), "torch_ms": round(p["ms_per_step"], 1),
                       "throughput_ratio": round(p["ms_per_step"] / o["ms_per_step"], 2),
                       "engine_peak_mb": round(o["peak_rss_mb"]), "torch_peak_mb": round(p["peak_rss_mb"]),
                       "engine_step_mb": round(o["peak_rss_mb"] - o["baseline_rss_mb"]),
                       "torch_step_mb": round(p["peak_rss_mb"] - p["baseline_rss_mb"])}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    main()
