#!/usr/bin/env bash
# SVAMP with a pretrained student: SmolLM2-135M-Instruct (the Q4_1 GGUF, dequantised to Float32)
# with LoRA rank 16, alpha 32 on q,k,v,o,gate,up,down, trained by standard fine-tuning and by
# distilling step-by-step (alpha 0.5, rationales replayed from the paper's released teacher
# outputs in DATA/llm) on 100% and 50% of the training set. The recipe of the PyTorch reference
# (../shared/STACK.md): prompts `label: {question}\nAnswer:` → ` {equation}<|im_end|>` (and
# `rationale: …` for step-by-step), no number masking, AdamW lr 5e-4, batch 8, one epoch over all
# 800 training problems (no validation carve-out), greedy evaluation of at most 32 new tokens on
# the 200 test problems, equation-value accuracy. Prints a table next to the paper's T5-Base and
# the reference run.
#
# Usage: bench/svamp_lora.sh            (after `make build`; takes a long while)
#   RUNS="ft100 sbs100 ft50 sbs50"  which runs, in this order
#   JOBS=1                          runs at once (2 halves the wall time per run on a 2-core box
#                                   only if nothing else runs; each run's time is its own wall time)
#   THREADS=2                       engine threads per run
#   OUT=.build/svamp_lora           logs and saved adapters
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEPWISE="$ROOT/.build/release/stepwise"
MODEL="${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
DATA="${DATA:-$ROOT/../shared/datasets}"
RUNS="${RUNS:-ft100 sbs100 ft50 sbs50}"
JOBS="${JOBS:-1}"
THREADS="${THREADS:-2}"
OUT="${OUT:-$ROOT/.build/svamp_lora}"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-SkylakeX}"
mkdir -p "$OUT"

run() {   # name
  local name="$1" method fraction
  case "$name" in
    ft100) method=finetune; fraction=1.0 ;;
    sbs100) method=step-by-step; fraction=1.0 ;;
    ft50) method=finetune; fraction=0.5 ;;
    sbs50) method=step-by-step; fraction=0.5 ;;
    *) echo "unknown run $name" >&2; return 1 ;;
  esac
  local start end
  start=$(date +%s)
  "$STEPWISE" train --task svamp --data "$DATA" --student "llama:$MODEL" --method "$method" --alpha 0.5 \
    --teacher replay --fraction "$fraction" --seed 0 --epochs 1 --batch 8 --lr 5e-4 --optimizer adamw \
    --weight-decay 0 --schedule constant --clip 1 --no-mask-numbers --valid-fraction 0 \
    --max-source-tokens 256 --max-target-tokens 32 --max-rationale-tokens 256 \
    --threads "$THREADS" --log-every 10 --out "$OUT/$name" > "$OUT/$name.log" 2>&1
  local rc=$?
  end=$(date +%s)
  echo "$((end - start))" > "$OUT/$name.seconds"
  echo "$name finished rc=$rc in $((end - start)) s" >&2
}

running=0
for name in $RUNS; do
  run "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

python3 - "$OUT" $RUNS <<'PY'
import os, re, sys
out, runs = sys.argv[1], sys.argv[2:]
label = {"ft100": ("standard fine-tuning", "100%", "62.63", "29.5% / ~4 min"),
         "sbs100": ("distilling step-by-step", "100%", "65.50", "32.5% / ~11 min"),
         "ft50": ("standard fine-tuning", "50%", "-", "-"),
         "sbs50": ("distilling step-by-step", "50%", "-", "-")}
print("| method | train data | Stepwise accuracy | Stepwise wall time | training / test eval | paper T5-Base | PyTorch reference |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in runs:
    log = os.path.join(out, r + ".log")
    text = open(log).read() if os.path.exists(log) else ""
    acc = re.findall(r"^accuracy=([0-9.]+)", text, re.M)
    train = re.findall(r"trained (\d+) steps in ([0-9.]+)s", text)
    test = re.findall(r"test examples=(\d+) correct=(\d+) empty=(\d+) \(([0-9.]+)s\)", text)
    secs = open(os.path.join(out, r + ".seconds")).read().strip() if os.path.exists(os.path.join(out, r + ".seconds")) else None
    a = f"{100 * float(acc[-1]):.1f}%" if acc else "did not finish"
    w = f"{int(secs) / 60:.1f} min" if secs and acc else "-"
    split = f"{train[-1][0]} steps {float(train[-1][1]) / 60:.1f} min / {float(test[-1][3]) / 60:.1f} min" if train and test else "-"
    m, f, paper, ref = label[r]
    print(f"| {m} | {f} | {a} | {w} | {split} | {paper} | {ref} |")
PY
