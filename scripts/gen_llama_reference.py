#!/usr/bin/env python3
"""Golden fixtures from llama.cpp (llama-cpp-python 0.3.36) for SmolLM2-135M-Instruct Q4_1.

Writes into Tests/ModelsTests/Fixtures/:
  llama_tokenizer.json      varied texts with llama.cpp's token ids (special tokens parsed and
                            not parsed) and its detokenisation.
  llama_reference.json      three prompts: rendered text, prompt ids, greedy continuation (64
                            tokens, stopping early at <|im_end|>/<|endoftext|>), the fixed token
                            ids whose logits are kept, and the layout of the binary file.
  llama_reference_logits.bin  for every position of every prompt (prompt + generated tokens,
                            in order): top-K ids (u16), their logits (f16), then the logits of
                            the fixed ids (f16); little-endian, K=20, 64 fixed ids.

Regenerate (needs the venv from STACK.md and models/ from scripts/fetch-models.sh):
  .venv-ref/bin/python scripts/gen_llama_reference.py
"""
import hashlib
import json
import os
import sys

import numpy as np
from llama_cpp import Llama, __version__ as llama_cpp_version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
TOP_K = 20
N_FIXED = 64
N_GENERATE = 64
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml(user, system=SYSTEM):
    """SmolLM2's chat template with add_generation_prompt=True."""
    return (f"<|im_start|>system\n{system}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


PROMPTS = [
    {"name": "cot_arithmetic", "chat": True,
     "user": "A baker had 23 cupcakes. She sold 9 of them and then baked 14 more. "
             "How many cupcakes does she have now? Let's think step by step."},
    {"name": "capital", "chat": True, "user": "What is the capital of France? Answer in one sentence."},
    {"name": "raw_continuation", "chat": False,
     "user": "The three primary colors of light are red, green and"},
]

TOKENIZER_TEXTS = [
    "Hello world",
    " Hello  world   again\t\ttabs\nnew line\n\n\nthree",
    "1234567890 3.14159 -42 1,000,000 2026-11-21 07:30",
    "It's, they're, we've, I'm, you'll, he'd; DON'T shout!",
    "Punctuation... (brackets) [square] {curly} <angle> \"quotes\" 'single' `tick` ~!@#$%^&*_+=|\\/?",
    "Unicode: café naïve résumé Zürich Ελληνικά русский עברית العربية",
    "CJK: 日本語のテキスト 中文文本 한국어 텍스트",
    "Emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>text after special<|im_end|><|im_start|>",
    "    leading spaces and trailing spaces    ",
    "\u00a0non-breaking\u00a0space and\u2003em space and zero\u200bwidth",
    "Math: x² + y² = z², ½ + ¼ = ¾, ① ② ③, Ⅻ",
    "def f(x):\n    return x ** 2  # comment\n\nprint(f(3))",
    "A baker had 23 cupcakes. She sold 9 of them and then baked 14 more.",
    "",
    " ",
    "a",
]


def main():
    if not os.path.exists(MODEL):
        sys.exit(f"{MODEL} is missing; run scripts/fetch-models.sh first")
    with open(MODEL, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    llm = Llama(model_path=MODEL, n_ctx=1024, n_batch=512, n_threads=2, logits_all=True,
                seed=0, verbose=False)
    n_vocab = llm.n_vocab()

    tok_cases = []
    for text in TOKENIZER_TEXTS:
        b = text.encode("utf-8")
        ids = llm.tokenize(b, add_bos=False, special=True) if b else []
        ids_plain = llm.tokenize(b, add_bos=False, special=False) if b else []
        decoded = llm.detokenize(ids, special=True).decode("utf-8", errors="replace")
        tok_cases.append({"text": text, "ids": ids, "ids_no_special": ids_plain, "decoded": decoded})
    with open(os.path.join(OUT, "llama_tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/gen_llama_reference.py", "llama_cpp_python": llama_cpp_version,
                   "model_sha256": sha, "cases": tok_cases}, f, ensure_ascii=False, indent=1)

    # Fixed ids: the special tokens, the ten digits, a few words, then evenly spaced ids.
    fixed = [0, 1, 2]
    fixed += [llm.tokenize(str(d).encode(), add_bos=False, special=False)[0] for d in range(10)]
    for w in [" the", " The", " Let", "A", " answer", " is", "\n", " Paris", " blue", " step"]:
        fixed.append(llm.tokenize(w.encode(), add_bos=False, special=False)[0])
    for x in np.linspace(100, n_vocab - 1, N_FIXED - len(fixed)):
        x = int(x)
        while x in fixed:
            x += 1
        fixed.append(x)

    eog = {2, 0}
    prompts_out = []
    blob = bytearray()
    for p in PROMPTS:
        text = chatml(p["user"]) if p["chat"] else p["user"]
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        generated = []
        for _ in range(N_GENERATE):
            logits = np.asarray(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            nxt = int(np.argmax(logits))
            generated.append(nxt)
            if nxt in eog:
                break
            llm.eval([nxt])
        # Logits of every evaluated position (the last generated token is not evaluated).
        positions = np.asarray(llm.scores[:llm.n_tokens], dtype=np.float32)
        for row in positions:
            top = np.argsort(-row, kind="stable")[:TOP_K]
            blob += top.astype("<u2").tobytes()
            blob += row[top].astype("<f2").tobytes()
            blob += row[fixed].astype("<f2").tobytes()
        prompts_out.append({
            "name": p["name"], "chat": p["chat"], "user": p["user"], "text": text, "prompt_ids": ids, "generated_ids": generated,
            "generated_text": llm.detokenize(generated).decode("utf-8", errors="replace"),
            "positions": int(positions.shape[0]),
        })

    with open(os.path.join(OUT, "llama_reference_logits.bin"), "wb") as f:
        f.write(bytes(blob))
    meta = {
        "generator": "scripts/gen_llama_reference.py", "llama_cpp_python": llama_cpp_version,
        "model": os.path.basename(MODEL), "model_sha256": sha, "n_vocab": n_vocab,
        "top_k": TOP_K, "fixed_ids": fixed, "threads": 2,
        "layout": "per prompt in order, per position: u16[top_k] ids, f16[top_k] logits, f16[len(fixed_ids)] logits",
        "note": "prompt evaluated in one batch, then one token at a time; llama.cpp quantises activations "
                "to 8 bits in its matrix products, so compare logits with a tolerance",
        "prompts": prompts_out,
    }
    with open(os.path.join(OUT, "llama_reference.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(tok_cases)} tokenizer cases, {sum(p['positions'] for p in prompts_out)} positions, "
          f"{len(blob)} bytes of logits")


if __name__ == "__main__":
    main()
