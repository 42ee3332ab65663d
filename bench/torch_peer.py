#!/usr/bin/env python3
"""PyTorch / numpy peers for the engine benchmarks. One case per process (peak RSS is per process).

  torch_peer.py gemm N THREADS        numpy sgemm GFLOP/s (best of 5)
  torch_peer.py block D H B T THREADS forward+backward+AdamW of the same pre-norm block as
                                      EngineBench.transformerStep (Sources/NN/EngineBench.swift)
Prints one JSON line.
"""
import json
import resource
import sys
import time


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def gemm(n, threads):
    import os
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    import numpy as np
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:
        pass
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((n, n)) * 0.01).astype(np.float32)
    b = (rng.standard_normal((n, n)) * 0.01).astype(np.float32)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a = a @ b
        best = min(best, time.perf_counter() - t)
    return {"bench": "gemm", "peer": "numpy", "n": n, "threads": threads, "gflops": 2 * n**3 / best / 1e9}


def block(d, h, b, t, threads, steps=10, warmup=2):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    baseline = rss_mb()

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            B, T, C = x.shape
            hx = self.ln1(x)
            split = lambda y: y.view(B, T, h, C // h).transpose(1, 2)
            att = F.scaled_dot_product_attention(split(self.q(hx)), split(self.k(hx)), split(self.v(hx)), is_causal=True)
            x = x + self.o(att.transpose(1, 2).reshape(B, T, C))
            return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    torch.manual_seed(7)
    model = Block()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    x = torch.randn(b, t, d)
    times = []
    for i in range(steps + warmup):
        s = time.perf_counter()
        y = model(x)
        loss = (y * y).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        x = y.detach()
        if i >= warmup:
            times.append(time.perf_counter() - s)
    times.sort()
    med = times[len(times) // 2]
    return {"bench": "block", "peer": "torch " + torch.__version__, "d_model": d, "heads": h, "batch": b, "seq": t,
            "threads": threads, "ms_per_step": med * 1000, "tokens_per_s": b * t / med,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "baseline_rss_mb": baseline}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[2:]]
    print(json.dumps(gemm(*args) if sys.argv[1] == "gemm" else block(*args)))
