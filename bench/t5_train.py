#!/usr/bin/env python3
"""T5 training throughput: Stepwise against PyTorch + transformers, same config, same threads.

  .venv-ref/bin/python bench/t5_train.py [--cases mini,small] [--threads 1,2] [--steps 3] [--rounds 2] [--dropout 0.1]
      [--baseline path/to/other/stepwise]    # a second build in the same rounds (before/after)

Cases: mini = d_model 256, 4+4 layers, 4 heads, d_ff 1024, gated GELU, batch 16; small = t5-small's
shape (512, 6+6, 8 heads, d_ff 2048, ReLU, tied), batch 8; tiny = 128, 2+2, batch 16. Vocabulary
32128, input 128 + target 64 random tokens, AdamW, training mode. tokens/s = batch * 192 / median
step time. Needs `make build` first; the Swift side runs through `stepwise bench t5` (T5Bench in
Sources/Models/T5/T5Bench.swift), the peer in a subprocess of this
script (`--peer`), each case in its own process. Rounds alternate Stepwise and PyTorch and the best
round of each side is reported, because the machine is shared and noise only ever slows a run down.

Measured 2026-11-21 22:20-22:37 (torch 2.13.0+cpu, transformers 5.23.0, dropout 0.1, load average 5-9
on the 2 cores, so absolute numbers are 2-5x under STACK.md's; the ratio is what to read):
  mini  1 thread: Stepwise 608 tok/s, torch 613 (0.99x)   2 threads: 741 vs 264 (2.8x)
  small 1 thread: Stepwise 313 tok/s, torch 217 (1.44x)   2 threads: 229 vs 120 (1.9x)
PyTorch's 2-thread runs suffer most from the other processes (OpenMP spin-waits), so the 2-thread
ratios overstate Stepwise's lead on an idle machine.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CASES = {
    "tiny": dict(d_model=128, d_kv=32, d_ff=512, num_layers=2, num_heads=4, feed_forward_proj="gated-gelu",
                 tie_word_embeddings=False, batch=16),
    "mini": dict(d_model=256, d_kv=64, d_ff=1024, num_layers=4, num_heads=4, feed_forward_proj="gated-gelu",
                 tie_word_embeddings=False, batch=16),
    "small": dict(d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8, feed_forward_proj="relu",
                  tie_word_embeddings=True, batch=8),
}


def stepwise(case, threads, steps, dropout, binary=None):
    binary = binary or os.environ.get("STEPWISE", os.path.join(ROOT, ".build", "release", "stepwise"))
    out = subprocess.run([binary, "bench", "t5", "--case", case, "--threads", str(threads), "--steps", str(steps),
                          "--dropout", str(dropout)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("Stepwise benchmark failed:\n" + out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def peer(case, threads, steps, dropout, warmup=1):
    import torch
    torch.set_num_threads(threads)
    from transformers import T5Config, T5ForConditionalGeneration
    opts = dict(CASES[case])
    batch = opts.pop("batch")
    torch.manual_seed(0)
    config = T5Config(vocab_size=32128, num_decoder_layers=opts["num_layers"], dropout_rate=dropout,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, **opts)
    model = T5ForConditionalGeneration(config)
    if not opts["tie_word_embeddings"] and model.lm_head.weight is model.shared.weight:
        # transformers 5 ties the head whenever it builds a T5; untie it as Stepwise's v1.1 is.
        # Drawn as Stepwise draws it: N(0, d_model^-0.5), unit-scale logits.
        model.lm_head.weight = torch.nn.Parameter(torch.randn_like(model.shared.weight) * opts["d_model"] ** -0.5)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(2, 32128, (batch, 128))
    labels = torch.randint(2, 32128, (batch, 64))
    times = []
    for step in range(warmup + steps):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        ms = (time.perf_counter() - t) * 1e3
        if step >= warmup:
            times.append(ms)
    times.sort()
    median = times[len(times) // 2]
    with open("/proc/self/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
    return {"msPerStepMedian": median, "msPerStepBest": times[0], "tokensPerSecond": batch * 192 / (median / 1e3),
            "loss": float(loss), "peakRSSMiB": hwm, "torch": torch.__version__}


def run_peer(case, threads, steps, dropout):
    out = subprocess.run([sys.executable, __file__, "--peer", case, "--threads", str(threads), "--steps", str(steps),
                          "--dropout", str(dropout)], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError("peer printed no result:\n" + out.stderr[-2000:])
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description="T5 training tokens/s, Stepwise vs PyTorch")
    ap.add_argument("--cases", default="mini,small")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", help="another stepwise binary (e.g. main's) run in the same rounds")
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        print(json.dumps(peer(args.peer, int(args.threads), args.steps, args.dropout)))
        return
    for case in args.cases.split(","):
        for threads in map(int, args.threads.split(",")):
            ours, theirs, base = [], [], []
            for _ in range(args.rounds):
                if args.baseline:
                    base.append(stepwise(case, threads, args.steps, args.dropout, args.baseline))
                ours.append(stepwise(case, threads, args.steps, args.dropout))
                theirs.append(run_peer(case, threads, args.steps, args.dropout))
            ours = min(ours, key=lambda r: r["msPerStepMedian"])
            theirs = min(theirs, key=lambda r: r["msPerStepMedian"])
            row = {"case": case, "threads": threads, "dropout": args.dropout,
                   "stepwise_tok_s": round(ours["tokensPerSecond"]), "torch_tok_s": round(theirs["tokensPerSecond"]),
                   "ratio": round(ours["tokensPerSecond"] / theirs["tokensPerSecond"], 2),
                   "stepwise_ms": round(ours["msPerStepMedian"]), "torch_ms": round(theirs["msPerStepMedian"]),
                   "stepwise_loss": round(ours["loss"], 3), "torch_loss": round(theirs["loss"], 3),
                   "stepwise_peak_mib": round(ours["peakRSSMiB"]), "torch_peak_mib": round(theirs["peakRSSMiB"]),
                   "load1": round(os.getloadavg()[0], 1)}
            if base:
                best = min(base, key=lambda r: r["msPerStepMedian"])
                row["baseline_tok_s"] = round(best["tokensPerSecond"])
                row["baseline_ratio"] = round(best["tokensPerSecond"] / theirs["tokensPerSecond"], 2)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
