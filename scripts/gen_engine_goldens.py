#!/usr/bin/env python3
"""Golden values for the engine's fused kernels and optimizers, computed once with PyTorch.

Writes Tests/TensorTests/Fixtures/golden_*.json and Tests/NNTests/Fixtures/optimizer_goldens.json.
Inputs come from a seeded numpy generator and are stored in the fixtures, so the Swift tests
feed the exact same float32 values. Run: .venv-bench/bin/python scripts/gen_engine_goldens.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = np.random.default_rng(1234)


def randn(*shape):
    return torch.tensor(rng.standard_normal(shape).astype(np.float32))


def flat(t):
    # 9 significant digits round-trip a float32 exactly.
    return [float(f"{x:.9g}") for x in t.detach().reshape(-1).tolist()]


def leaf(t):
    return t.clone().requires_grad_(True)


def fused():
    out = {}
    # softmax / log-softmax over the last axis of (3, 5, 7)
    x, g = randn(3, 5, 7), randn(3, 5, 7)
    for name, fn in [("softmax", lambda t: torch.softmax(t, -1)), ("log_softmax", lambda t: torch.log_softmax(t, -1))]:
        xl = leaf(x)
        y = fn(xl)
        y.backward(g)
        out[name] = {"x": flat(x), "g": flat(g), "shape": [3, 5, 7], "y": flat(y), "dx": flat(xl.grad)}
    # cross-entropy with ignore index and label smoothing, logits (6, 7)
    logits = randn(6, 7)
    targets = torch.tensor([0, 6, -100, 3, 2, -100])
    for smoothing in (0.0, 0.1):
        xl = leaf(logits)
        loss = F.cross_entropy(xl, targets, ignore_index=-100, label_smoothing=smoothing)
        loss.backward()
        out[f"cross_entropy_{smoothing}"] = {"x": flat(logits), "targets": targets.tolist(), "shape": [6, 7],
                                              "smoothing": smoothing, "loss": float(loss.detach()), "dx": flat(xl.grad)}
    # layer norm and RMS norm over the last axis of (3, 5, 7)
    x, w, b, g = randn(3, 5, 7), randn(7), randn(7), randn(3, 5, 7)
    xl, wl, bl = leaf(x), leaf(w), leaf(b)
    y = F.layer_norm(xl, (7,), wl, bl, eps=1e-5)
    y.backward(g)
    out["layer_norm"] = {"x": flat(x), "w": flat(w), "b": flat(b), "g": flat(g), "shape": [3, 5, 7], "eps": 1e-5,
                         "y": flat(y), "dx": flat(xl.grad), "dw": flat(wl.grad), "db": flat(bl.grad)}
    xl, wl = leaf(x), leaf(w)
    y = xl * torch.rsqrt(xl.pow(2).mean(-1, keepdim=True) + 1e-6) * wl  # T5LayerNorm / LlamaRMSNorm
    y.backward(g)
    out["rms_norm"] = {"x": flat(x), "w": flat(w), "g": flat(g), "shape": [3, 5, 7], "eps": 1e-6,
                       "y": flat(y), "dx": flat(xl.grad), "dw": flat(wl.grad)}
    # attention: B=2, H=4, Hkv=2 (GQA), Tq=5, Tk=6, D=4; T5-style bias, causal, padding mask, scale 1
    q, k, v = randn(2, 4, 5, 4), randn(2, 2, 6, 4), randn(2, 2, 6, 4)
    bias, g = randn(1, 4, 5, 6), randn(2, 4, 5, 4)
    mask = torch.ones(2, 1, 1, 6)
    mask[1, 0, 0, 5] = 0
    for name, scale, causal, use_bias in [("attention_t5", 1.0, True, True), ("attention_plain", 4 ** -0.5, False, False)]:
        ql, kl, vl, bl = leaf(q), leaf(k), leaf(v), leaf(bias)
        kr, vr = kl.repeat_interleave(2, dim=1), vl.repeat_interleave(2, dim=1)
        s = ql @ kr.transpose(-1, -2) * scale
        if use_bias:
            s = s + bl
        s = s.masked_fill(mask == 0, float("-inf"))
        if causal:
            s = s.masked_fill(torch.ones(5, 6).triu(1 + 6 - 5).bool(), float("-inf"))
        y = torch.softmax(s, -1) @ vr
        y.backward(g)
        entry = {"q": flat(q), "k": flat(k), "v": flat(v), "mask": flat(mask), "g": flat(g), "scale": scale,
                 "causal": causal, "y": flat(y), "dq": flat(ql.grad), "dk": flat(kl.grad), "dv": flat(vl.grad)}
        if use_bias:
            entry["bias"] = flat(bias)
            entry["dbias"] = flat(bl.grad)
        out[name] = entry
    return out


def optimizers():
    from transformers.optimization import Adafactor
    w0, b0 = randn(4, 6), randn(6)
    grads = [(randn(4, 6), randn(6)) for _ in range(5)]
    out = {"w": flat(w0), "b": flat(b0), "grads": [{"w": flat(gw), "b": flat(gb)} for gw, gb in grads]}

    def run(name, make):
        w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
        opt = make([w, b])
        steps = []
        for gw, gb in grads:
            w.grad, b.grad = gw.clone(), gb.clone()
            opt.step()
            steps.append({"w": flat(w), "b": flat(b)})
        out[name] = steps

    run("adamw", lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1))
    run("adafactor", lambda ps: Adafactor(ps))  # relative_step, scale_parameter, clip 1.0, decay -0.8, beta1 None
    run("adafactor_manual", lambda ps: Adafactor(ps, lr=1e-2, relative_step=False, scale_parameter=False,
                                                 beta1=0.9, weight_decay=0.01))
    run("adafactor_warmup", lambda ps: Adafactor(ps, warmup_init=True))
    run("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True))
    return out


def write(path, obj):
    path = os.path.join(ROOT, path)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    torch.manual_seed(0)
    goldens = fused()
    for group in ("softmax", "cross_entropy", "norm", "attention"):
        write(f"Tests/TensorTests/Fixtures/golden_{group}.json", {k: v for k, v in goldens.items() if group in k})
    write("Tests/NNTests/Fixtures/optimizer_goldens.json", optimizers())
