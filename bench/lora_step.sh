#!/usr/bin/env bash
# Seconds per LoRA training step of SmolLM2-135M-Instruct (Q4_1 GGUF dequantised to Float32),
# rank 16, alpha 32 on q,k,v,o,gate,up,down, batch 8 of SVAMP training pairs (label:
# question → equation; rationale: question → the released teacher rationale), at 1 and 2
# threads, next to the PyTorch + peft reference of ../shared/STACK.md (bfloat16, 1 thread):
# standard fine-tuning 230 s / 100 steps = 2.3 s per label step, step-by-step 686 s / 100
# steps = 6.86 s per label + rationale step. Those are recorded figures: this machine has no
# PyTorch venv to re-run them in the same run. Ratio > 1 means Stepwise is faster.
# Usage: bench/lora_step.sh [timed steps, default 5]   (after `make build`)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEPWISE="$ROOT/.build/release/stepwise"
MODEL="${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
DATA="${DATA:-$ROOT/../shared/datasets/svamp}"
STEPS="${1:-5}"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-SkylakeX}"
LINES=""
for threads in 1 2; do
  for task in label rationale; do
    line=$("$STEPWISE" bench lora-step --model "$MODEL" --data "$DATA" --task "$task" --threads "$threads" --steps "$STEPS")
    echo "$line"
    LINES="$LINES$line"$'\n'
  done
done
printf '%s' "$LINES" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
s = {(r["threads"], r["task"]): r["seconds_per_step"] for r in rows}
print("threads | label s/step (ref 2.30) | ratio | label+rationale s/step (ref 6.86) | ratio")
for t in sorted({r["threads"] for r in rows}):
    lab, both = s[(t, "label")], s[(t, "label")] + s[(t, "rationale")]
    print(f"{t:7d} | {lab:23.2f} | {2.30 / lab:5.2f} | {both:33.2f} | {6.86 / both:5.2f}")
'
