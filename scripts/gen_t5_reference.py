#!/usr/bin/env python3
"""Golden values for Stepwise's T5 (Tests/ModelsTests/T5*Tests.swift), from Hugging Face transformers.

Builds two small random T5 models with a fixed seed -- v1.0 (ReLU, tied embeddings, decoder output
rescaled by d_model**-0.5) and v1.1 (gated gelu_new, separate lm_head) -- saves each as a Hugging
Face folder, and records for a fixed padded batch: the encoder output, the decoder logits, the loss,
the gradient of every parameter after one backward, greedy generation ids, and relative position
buckets. Tensors go in `reference.safetensors` (float32/int32), scalars and ids in `reference.json`.

    python3 -m venv .venv-ref && .venv-ref/bin/pip install 'torch==2.13.0+cpu' transformers safetensors
    .venv-ref/bin/python scripts/gen_t5_reference.py            # writes Tests/ModelsTests/Fixtures/t5_v10, t5_v11
    .venv-ref/bin/python scripts/gen_t5_reference.py --verify DIR   # loads a folder Stepwise saved, checks it

Made with torch 2.13.0+cpu and transformers 5.23.0.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import T5Config, T5ForConditionalGeneration
from transformers.models.t5.modeling_t5 import T5Attention

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures")

VARIANTS = {
    # v1.0: ReLU, tied, scaled; t5-small's position settings.
    "t5_v10": dict(feed_forward_proj="relu", tie_word_embeddings=True,
                   relative_attention_num_buckets=32, relative_attention_max_distance=128),
    # v1.1 / FLAN-T5: gated gelu_new, untied lm_head; few buckets, short max distance (log buckets in use).
    "t5_v11": dict(feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                   relative_attention_num_buckets=16, relative_attention_max_distance=20),
}


def batch():
    """Three examples of different lengths: inputs padded with 0 (mask 0), labels padded with -100."""
    g = torch.Generator().manual_seed(7)
    inputs = [torch.randint(2, 96, (n,), generator=g).tolist() + [1] for n in (10, 6, 3)]
    labels = [torch.randint(2, 96, (n,), generator=g).tolist() + [1] for n in (6, 3, 4)]
    ts, t = max(map(len, inputs)), max(map(len, labels))
    ids = torch.tensor([r + [0] * (ts - len(r)) for r in inputs], dtype=torch.long)
    mask = torch.tensor([[1] * len(r) + [0] * (ts - len(r)) for r in inputs], dtype=torch.long)
    lab = torch.tensor([r + [-100] * (t - len(r)) for r in labels], dtype=torch.long)
    return ids, mask, lab


def build(name, opts):
    torch.manual_seed(1234)
    config = T5Config(vocab_size=96, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                      num_heads=4, dropout_rate=0.1, layer_norm_epsilon=1e-6, decoder_start_token_id=0,
                      pad_token_id=0, eos_token_id=1, **opts)
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        # Smaller embeddings than HF's N(0, 1) init, so that a tied random model does not just
        # predict its own input token (greedy generation would then repeat the start token).
        model.shared.weight.mul_(0.1)
    folder = os.path.join(FIXTURES, name)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    if not opts["tie_word_embeddings"]:
        # transformers 5 always ties lm_head to shared when it builds a model; write the separate
        # head and a transformers-4 style config (like google/flan-t5-small's) and reload, which unties.
        path = os.path.join(folder, "model.safetensors")
        state = load_file(path)
        state["lm_head.weight"] = 0.2 * torch.randn(96, 32, generator=torch.Generator().manual_seed(99))
        save_file(state, path, metadata={"format": "pt"})
        cfg_path = os.path.join(folder, "config.json")
        cfg = json.load(open(cfg_path))
        cfg["tie_word_embeddings"] = False
        cfg.pop("scale_decoder_outputs", None)
        json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
        model = T5ForConditionalGeneration.from_pretrained(folder)
        assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
        assert not model.config.scale_decoder_outputs
    return model, folder


def reference(model):
    ids, mask, labels = batch()
    model.eval()
    out = {}
    model.zero_grad()
    result = model(input_ids=ids, attention_mask=mask, labels=labels)
    result.loss.backward()
    tensors = {
        "input_ids": ids.to(torch.int32), "attention_mask": mask.to(torch.int32), "labels": labels.to(torch.int32),
        "logits": result.logits.detach().float(),
    }
    with torch.no_grad():
        tensors["encoder_output"] = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    norm2 = 0.0
    for pname, p in model.named_parameters():
        if p.grad is not None:
            tensors["grad." + pname] = p.grad.detach().float().contiguous()
            norm2 += float((p.grad.double() ** 2).sum())
    out["loss"] = float(result.loss)
    out["grad_norm"] = norm2 ** 0.5
    def generate(eos):
        with torch.no_grad():
            gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12, do_sample=False, num_beams=1,
                                 eos_token_id=eos, pad_token_id=0)
        rows = []
        for row in gen.tolist():
            row = row[1:]                                   # drop decoder_start_token_id
            if eos in row:
                row = row[: row.index(eos) + 1]             # keep eos, drop the padding after it
            rows.append(row)
        return rows
    # An end token that one row meets early and the others never do, to test per-row stopping.
    free = generate(1)
    counts = {tok: sum(tok in r for r in free) for r in free for tok in r}
    candidates = [(r.index(tok), tok) for r in free for tok in r[1:6] if counts[tok] == 1 and tok > 1]
    eos = min(candidates)[1] if candidates else 1
    out["eos_for_generation"] = eos
    out["generated"] = generate(eos)
    out["max_new_tokens"] = 12
    return tensors, out


def buckets():
    rel = torch.arange(-150, 151)
    cases = []
    for bidirectional in (True, False):
        for nb, md in ((32, 128), (16, 20), (8, 16)):
            b = T5Attention._relative_position_bucket(rel, bidirectional=bidirectional, num_buckets=nb, max_distance=md)
            cases.append({"bidirectional": bidirectional, "num_buckets": nb, "max_distance": md,
                          "relative": rel.tolist(), "bucket": b.tolist()})
    return cases


TOKENIZER_TEXTS = ["the cat sat on the mat", "numbers like 12 and 345 matter", "step by step reasoning helps"]


def tokenizer(folder):
    """A tiny Unigram spiece.model (T5's ids: pad 0, eos 1, unk 2) and sentencepiece's own encodings."""
    import io
    import sentencepiece as spm
    corpus = ["the cat sat on the mat", "a dog ran to the park", "numbers like 12 and 345 matter",
              "step by step reasoning helps small models", "the answer is 7"] * 20
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=buffer, vocab_size=40,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   character_coverage=1.0, minloglevel=2,
                                   normalization_rule_name="identity")   # no 240 KB NFKC table
    with open(os.path.join(folder, "spiece.model"), "wb") as f:
        f.write(buffer.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buffer.getvalue())
    return [{"text": t, "ids": sp.encode(t)} for t in TOKENIZER_TEXTS]


def verify(folder):
    """Load a folder that Stepwise saved and check it reproduces the fixture it was saved from."""
    model = T5ForConditionalGeneration.from_pretrained(folder)
    model.eval()
    ids, mask, labels = batch()
    with torch.no_grad():
        result = model(input_ids=ids, attention_mask=mask, labels=labels)
    best = None
    for name in VARIANTS:
        ref = load_file(os.path.join(FIXTURES, name, "reference.safetensors"))
        if ref["logits"].shape == result.logits.shape:
            err = float((ref["logits"] - result.logits).abs().max())
            best = err if best is None else min(best, err)
            print(f"{name}: max |logits - fixture| = {err:.3g}")
    print(f"loss {float(result.loss):.6f}; tied={model.lm_head.weight is model.shared.weight} "
          f"scale={model.config.scale_decoder_outputs}")
    return 0 if best is not None and best < 1e-4 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verify", metavar="DIR", help="load a Stepwise-saved folder in transformers and compare")
    args = parser.parse_args()
    if args.verify:
        return verify(args.verify)
    for name, opts in VARIANTS.items():
        model, folder = build(name, opts)
        tensors, scalars = reference(model)
        save_file(tensors, os.path.join(folder, "reference.safetensors"))
        scalars["parameters"] = {n: list(p.shape) for n, p in model.named_parameters()}
        if name == "t5_v10":
            scalars["tokenizer"] = tokenizer(folder)
        json.dump(scalars, open(os.path.join(folder, "reference.json"), "w"), indent=1)
        print(name, "loss", scalars["loss"], "grad_norm", scalars["grad_norm"], "generated", scalars["generated"])
    json.dump(buckets(), open(os.path.join(FIXTURES, "t5_buckets.json"), "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
