#!/usr/bin/env bash
# Packing against padding: real (non-pad) training tokens per second of a tiny T5 on one mixture
# of SVAMP, CQA and ANLI-1 (inputs with gold labels and the teacher's rationales, six streams),
# packed into rows of 256 tokens against padded, length-bucketed batches. Both modes draw the same
# batches from the same weights, so their losses must agree; the rounds alternate. Pinned to one
# core (keep other jobs off it). Prints the JSON line and the ratio.
#
#   make build && bench/packing.sh [DATA_DIR] [extra `stepwise bench packing` options]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/datasets}"
shift || true
BIN="${STEPWISE:-.build/release/stepwise}"
[ -x "$BIN" ] || { echo "no $BIN: run \`make build\` first" >&2; exit 1; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
line="$(taskset -c 0 "$BIN" bench packing --data "$DATA" --threads 1 "$@")"
echo "$line"
python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"padded {r['padded_tokens_per_second']:.0f} tok/s, packed {r['packed_tokens_per_second']:.0f} tok/s: "
      f"packed/padded = {r['ratio_packed_over_padded']:.2f} (rounds {', '.join(f'{x:.2f}' for x in r['round_ratios'])}); "
      f"largest relative loss difference {r['max_relative_loss_difference']:.1e}")
print(f"real tokens / token slots: padded {r['padded_density']:.3f}, packed {r['packed_density']:.3f}; "
      f"at equal cost per slot packed/padded would be {r['packed_density'] / r['padded_density']:.2f}, "
      f"and no layout could beat padding by more than {1 / r['padded_density']:.2f}x")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
