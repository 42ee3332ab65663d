#!/usr/bin/env python3
"""Stepwise's Llama decoder against llama.cpp (llama-cpp-python) on SmolLM2-135M-Instruct Q4_1,
same machine, same run, ratios printed: prompt tokens/s (one 512-token batch) and generated
tokens/s (128 greedy tokens through the KV cache), at 1 and 2 threads.

  .venv/bin/python bench/llama_generate.py [--rounds 2] [--repeat 3]   # PEER_PY=... picks another peer python

Needs `make test` (or `make build models venv`) first: the release binary, the model, and
llama-cpp-python in .venv. The Swift side runs through `stepwise bench llama` (LlamaBench.run); the
peer runs in its own process through this file's `--peer` mode. Best of `--rounds` inside each
process; `--repeat` alternates the two sides that many times and prints medians, the median of
the per-pair ratios and the 1-minute load average. `--baseline BINARY` runs a second Stepwise
build (say main's) in the same alternation, for before/after ratios from one run.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
TEXT = "The quick brown fox jumps over the lazy dog. "


def peer(threads, n_prompt, n_gen, rounds):
    import llama_cpp
    import numpy as np
    llm = llama_cpp.Llama(MODEL, n_ctx=n_prompt + n_gen + 8, n_batch=n_prompt, n_threads=threads,
                          n_threads_batch=threads, logits_all=False, verbose=False)
    n_vocab = llm.n_vocab()
    base = llm.tokenize(TEXT.encode(), add_bos=False, special=False)
    prompt = [base[i % len(base)] for i in range(n_prompt)]
    best_p = best_g = float("inf")
    for _ in range(rounds):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        for _ in range(n_gen):
            last = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
            tok = int(np.argmax(np.ctypeslib.as_array(last, shape=(n_vocab,))))
            llm.eval([tok])
        t2 = time.perf_counter()
        best_p, best_g = min(best_p, t1 - t0), min(best_g, t2 - t1)
    return {"threads": threads, "promptTokensPerSecond": n_prompt / best_p, "generatedTokensPerSecond": n_gen / best_g}


def stepwise(threads, n_prompt, n_gen, rounds, binary=None):
    binary = binary or os.environ.get("STEPWISE", os.path.join(ROOT, ".build", "release", "stepwise"))
    out = subprocess.run([binary, "bench", "llama", "--model", MODEL, "--prompt", str(n_prompt),
                          "--generate", str(n_gen), "--threads", str(threads), "--rounds", str(rounds)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("Stepwise benchmark failed:\n" + out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])[0]


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--generate", type=int, default=128)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=1, help="alternating Stepwise/peer pairs; medians reported")
    ap.add_argument("--baseline", help="another stepwise binary (e.g. main's) run in the same alternation")
    ap.add_argument("--peer", type=int, help="internal: run the llama.cpp side at this thread count")
    args = ap.parse_args()
    if args.peer:
        print(json.dumps(peer(args.peer, args.prompt, args.generate, args.rounds)))
        return
    peer_py = os.environ.get("PEER_PY", sys.executable)
    rows = []
    for t in [int(x) for x in args.threads.split(",")]:
        # Alternate the two sides --repeat times; each pair is one ratio, and the medians are
        # reported with the load average seen during the pairs (the machine is shared).
        ours, theirs, base, loads = [], [], [], []
        for _ in range(args.repeat):
            if args.baseline:
                base.append(stepwise(t, args.prompt, args.generate, args.rounds, args.baseline))
            ours.append(stepwise(t, args.prompt, args.generate, args.rounds))
            out = subprocess.run([peer_py, __file__, "--peer", str(t), "--prompt", str(args.prompt), "--generate",
                                  str(args.generate), "--rounds", str(args.rounds)], capture_output=True, text=True)
            theirs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            loads.append(os.getloadavg()[0])
        for key, label in [("promptTokensPerSecond", f"prompt {args.prompt} tok/s"),
                           ("generatedTokensPerSecond", f"generate {args.generate} tok/s")]:
            s, p = median([r[key] for r in ours]), median([r[key] for r in theirs])
            ratio = median([a[key] / b[key] for a, b in zip(ours, theirs)])
            row = {"case": label, "threads": t, "stepwise": round(s, 1), "llama.cpp": round(p, 1),
                   "ratio": round(ratio, 2), "pairs": args.repeat,
                   "ratios": [round(a[key] / b[key], 2) for a, b in zip(ours, theirs)],
                   "load1": round(median(loads), 1)}
            if base:
                row["baseline"] = round(median([r[key] for r in base]), 1)
                row["baseline_ratio"] = round(median([a[key] / b[key] for a, b in zip(base, theirs)]), 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("| case | threads | baseline | stepwise | llama.cpp | baseline ratio | ratio | load |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['threads']} | {r.get('baseline', '-')} | {r['stepwise']} | {r['llama.cpp']} | "
              f"{r.get('baseline_ratio', '-')}x | {r['ratio']}x | {r['load1']} |")


if __name__ == "__main__":
    main()
