#!/usr/bin/env python3
"""Tiny vocabulary-only GGUFs and llama.cpp's token ids for them, to check the tokenizers that
SmolLM2 does not exercise against llama.cpp itself.

Writes Tests/ModelsTests/Fixtures/vocab_fixtures.json with two vocabularies, each as the GGUF
tokenizer metadata (the test writes its own GGUF from it; no .gguf is kept in the repo) and
llama.cpp's ids for a set of texts (special tokens parsed):
  spm      SentencePiece BPE ("llama"): <unk> <s> </s>, 256 <0xNN> byte tokens, and pieces
           learned by a few hundred BPE merges on a small corpus (score = -rank).
  llama3   byte-level BPE ("gpt2", pre "llama-bpe"): the 256 byte symbols, learned merges, and
           two control tokens.
  t5       SentencePiece Unigram ("t5"): <pad> </s> <unk>, single characters and learned pieces
           with made-up log-probabilities; no precompiled charsmap, extra whitespace removed.

Regenerate: .venv-ref/bin/python scripts/gen_tokenizer_vocab_fixtures.py
"""
import collections
import json
import os
import struct
import tempfile

from llama_cpp import Llama

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")

CORPUS = """The quick brown fox jumps over the lazy dog. A baker had 23 cupcakes and sold 9 of them.
Then she baked 14 more, so she had 28 cupcakes in the end. Let's think step by step about the
answer: the number of apples is the sum of the apples in each basket. I'm sure they're right,
we've seen it, you'll see. Hello world! Hello again, world. Naïve café owners in Zürich sell
crème brûlée for 4.50 francs. 日本語 and 中文 text appear here too. Tabs\tand\nnew lines.
"""

TEXTS = [
    "The quick brown fox",
    " leading space and  double  spaces",
    "Hello world! Hello again, world.",
    "A baker had 23 cupcakes and sold 9 of them; 1234567 is long.",
    "I'm sure they're right, WE'VE seen it, You'LL see.",
    "Naïve café, crème brûlée: 4.50 francs.",
    "日本語 and 中文 and unseen 한국어 and emoji 😀",
    "Tabs\tand\nnew lines\n\n\nand   trailing   ",
    "<s>special</s> tokens <|begin_of_text|>in<|eot_id|> text",
    "T5 style</s><pad>  pieces: unknown ~ § chars   here",
    "x",
    "",
]


def gguf_bytes(metadata):
    """A GGUF v3 file with metadata only (no tensors)."""
    out = bytearray(b"GGUF") + struct.pack("<IQQ", 3, 0, len(metadata))

    def string(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def value(v):
        if isinstance(v, bool):
            return struct.pack("<I", 7) + struct.pack("<B", v)
        if isinstance(v, int):
            return struct.pack("<I", 4) + struct.pack("<I", v)
        if isinstance(v, float):
            return struct.pack("<I", 6) + struct.pack("<f", v)
        if isinstance(v, str):
            return struct.pack("<I", 8) + string(v)
        if isinstance(v, list):
            if all(isinstance(x, str) for x in v):
                return struct.pack("<IIQ", 9, 8, len(v)) + b"".join(string(x) for x in v)
            if all(isinstance(x, float) for x in v):
                return struct.pack("<IIQ", 9, 6, len(v)) + b"".join(struct.pack("<f", x) for x in v)
            return struct.pack("<IIQ", 9, 5, len(v)) + b"".join(struct.pack("<i", x) for x in v)
        raise TypeError(v)

    for k, v in metadata:
        out += string(k) + value(v)
    while len(out) % 32:
        out += b"\0"
    return bytes(out)


def llama_hparams():
    return [("general.architecture", "llama"), ("llama.context_length", 256), ("llama.embedding_length", 64),
            ("llama.block_count", 1), ("llama.feed_forward_length", 128), ("llama.attention.head_count", 4),
            ("llama.attention.layer_norm_rms_epsilon", 1e-5)]


def learn_merges(words, n_merges):
    """Plain BPE training over lists of symbols; returns merges best first."""
    words = collections.Counter(tuple(w) for w in words)
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        new = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += c
        words = new
    return merges


def tokenizer_metadata(meta):
    return {k: v for k, v in meta if k.startswith("tokenizer.")}


def spm_vocab():
    tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>"); scores.append(0.0); types.append(6)
    text = CORPUS.replace(" ", "\u2581")
    for ch in sorted(set(text) - {"\n", "\t"}):
        tokens.append(ch); scores.append(-1000.0); types.append(1)
    words = ["\u2581" + w for w in CORPUS.split()]
    for rank, (a, b) in enumerate(learn_merges(words, 250)):
        if a + b not in tokens:
            tokens.append(a + b); scores.append(-float(rank)); types.append(1)
    meta = llama_hparams() + [
        ("tokenizer.ggml.model", "llama"), ("tokenizer.ggml.tokens", tokens), ("tokenizer.ggml.scores", scores),
        ("tokenizer.ggml.token_type", types), ("tokenizer.ggml.bos_token_id", 1), ("tokenizer.ggml.eos_token_id", 2),
        ("tokenizer.ggml.unknown_token_id", 0), ("tokenizer.ggml.add_bos_token", False)]
    return meta


def bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def llama3_vocab():
    enc = bytes_to_unicode()
    tokens = [enc[b] for b in range(256)]
    words = []
    for w in CORPUS.split():
        words.append([enc[b] for b in (" " + w).encode("utf-8")])
    merges = learn_merges(words, 300)
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    types = [1] * len(tokens)
    tokens += ["<|begin_of_text|>", "<|eot_id|>"]
    types += [3, 3]
    meta = llama_hparams() + [
        ("tokenizer.ggml.model", "gpt2"), ("tokenizer.ggml.pre", "llama-bpe"), ("tokenizer.ggml.tokens", tokens),
        ("tokenizer.ggml.token_type", types), ("tokenizer.ggml.merges", [f"{a} {b}" for a, b in merges]),
        ("tokenizer.ggml.bos_token_id", len(tokens) - 2), ("tokenizer.ggml.eos_token_id", len(tokens) - 1),
        ("tokenizer.ggml.add_bos_token", False)]
    return meta


def t5_vocab():
    tokens, scores, types = ["<pad>", "</s>", "<unk>"], [0.0, 0.0, 0.0], [3, 3, 2]
    text = CORPUS.replace(" ", "\u2581")
    for ch in sorted(set(text) - {"\n", "\t"}):
        tokens.append(ch); scores.append(-9.0 - 0.01 * len(tokens)); types.append(1)
    if "\u2581" not in tokens:
        tokens.append("\u2581"); scores.append(-3.0); types.append(1)
    words = ["\u2581" + w for w in CORPUS.split()]
    for rank, (a, b) in enumerate(learn_merges(words, 250)):
        if a + b not in tokens:
            # Longer pieces are likelier per character, as in a trained Unigram model.
            tokens.append(a + b); scores.append(-2.0 - rank / 40.0); types.append(1)
    meta = llama_hparams() + [
        ("tokenizer.ggml.model", "t5"), ("tokenizer.ggml.tokens", tokens), ("tokenizer.ggml.scores", scores),
        ("tokenizer.ggml.token_type", types), ("tokenizer.ggml.eos_token_id", 1),
        ("tokenizer.ggml.unknown_token_id", 2), ("tokenizer.ggml.padding_token_id", 0),
        ("tokenizer.ggml.add_space_prefix", True), ("tokenizer.ggml.remove_extra_whitespaces", True),
        ("tokenizer.ggml.add_bos_token", False), ("tokenizer.ggml.add_eos_token", False)]
    return meta


def main():
    result = {"generator": "scripts/gen_tokenizer_vocab_fixtures.py", "files": {}}
    tmp = tempfile.mkdtemp()
    for name, meta in [("spm", spm_vocab()), ("llama3", llama3_vocab()), ("t5", t5_vocab())]:
        path = os.path.join(tmp, name + ".gguf")
        with open(path, "wb") as f:
            f.write(gguf_bytes(meta))
        llm = Llama(model_path=path, vocab_only=True, verbose=False)
        cases = []
        for t in TEXTS:
            ids = llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) if t else []
            cases.append({"text": t, "ids": ids,
                          "decoded": llm.detokenize(ids, special=True).decode("utf-8", errors="replace")})
        result["files"][name] = {"metadata": tokenizer_metadata(meta), "cases": cases}
        os.remove(path)
        print(name, len(meta), "keys", len(cases), "cases")
    with open(os.path.join(OUT, "vocab_fixtures.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
