#!/usr/bin/env bash
# Builds bench/quant_matvec.swift with Sources/Models/Quant (release flags as the package uses:
# -Ounchecked, -target-cpu native), runs it, then times numpy's f32 matvec of a dequantised matrix
# of the same shapes at 1 and 2 threads in the same run and prints the ratio.
# Usage: bench/quant_matvec.sh [seconds per case, default 0.5]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build/bench"
mkdir -p "$OUT"
# The benchmark's top-level code must live in a file called main.swift.
cp "$ROOT/bench/quant_matvec.swift" "$OUT/main.swift"
swiftc -Ounchecked -target-cpu native -module-name QuantBench -o "$OUT/quant_matvec" \
  "$ROOT"/Sources/Models/Quant/*.swift "$OUT/main.swift"
SECONDS_PER_CASE="${1:-0.5}"
"$OUT/quant_matvec" "$SECONDS_PER_CASE" | tee "$OUT/quant_matvec.txt" | grep -v '^json '
PY="${PYTHON:-python3}"
grep '^json ' "$OUT/quant_matvec.txt" | sed 's/^json //' | "$PY" "$ROOT/bench/numpy_matvec.py" "$SECONDS_PER_CASE"
