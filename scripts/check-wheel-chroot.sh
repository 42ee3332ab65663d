#!/usr/bin/env bash
# Proves the wheel carries everything its binary needs: builds a minimal Debian 12 (bookworm)
# chroot with debootstrap (no libzmq, no OpenBLAS, no Swift, no Python), copies in the wheel's
# unpacked binary and bundled libraries, and runs the binary there: `--version`, `ldd`, and
# `stepwise run` on a script that does arithmetic and trains a tiny T5 for a few steps (so BLAS,
# autograd and the interpreter all run).
#
#   sudo scripts/check-wheel-chroot.sh [WHEEL] [CHROOT_DIR]
#
# WHEEL defaults to dist/stepwise_kernel-*.whl (`make wheel`), CHROOT_DIR to
# /var/tmp/stepwise-bookworm (kept, so a second run skips debootstrap; delete it to start over).
# Needs root, debootstrap (apt-get install debootstrap) and the Debian mirror this machine's apt
# uses (read from /etc/apt/sources.list*). Takes a few minutes the first time. Not run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHEEL="${1:-$(ls "$ROOT"/dist/stepwise_kernel-*manylinux*.whl 2>/dev/null | head -n1 || true)}"
CHROOT="${2:-/var/tmp/stepwise-bookworm}"
SUITE=bookworm

say() { printf '\n== %s\n' "$*"; }
die() { echo "check-wheel-chroot: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot): run it with sudo"
[ -n "$WHEEL" ] && [ -f "$WHEEL" ] || die "no wheel: run \`make wheel\` or pass its path"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

# The mirror this machine's apt already uses: deb822 (`URIs:`) or one-line (`deb URL suite`).
mirror() {
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
  local url
  url="$(cat "${files[@]}" 2>/dev/null | sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\/*\)$/\1/p' | head -n1)"
  [ -n "$url" ] || url="$(cat "${files[@]}" 2>/dev/null | sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\)[[:space:]]\+bookworm[[:space:]].*/\2/p' | head -n1)"
  echo "${url:-http://deb.debian.org/debian}"
}

MIRROR="$(mirror)"
if [ ! -x "$CHROOT/bin/sh" ]; then
  say "debootstrap --variant=minbase $SUITE $CHROOT $MIRROR"
  start=$(date +%s)
  debootstrap --variant=minbase "$SUITE" "$CHROOT" "$MIRROR" >"$CHROOT.debootstrap.log" 2>&1 \
    || { tail -n 20 "$CHROOT.debootstrap.log" >&2; die "debootstrap failed (log: $CHROOT.debootstrap.log)"; }
  echo "done in $(( $(date +%s) - start )) s"
else
  say "reusing the chroot at $CHROOT"
fi

# Inside the chroot with a clean environment, so nothing from this shell (LD_LIBRARY_PATH...) leaks in.
in_chroot() { chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp "$@"; }

mounted=""
cleanup() { [ -z "$mounted" ] || umount "$CHROOT/proc" 2>/dev/null || true; }
trap cleanup EXIT
mount -t proc proc "$CHROOT/proc" && mounted=1   # the binary reads /proc/cpuinfo and /proc/self/exe

say "the chroot: $(cat "$CHROOT/etc/debian_version"), $(in_chroot dpkg-query -W -f='${Package}\n' | wc -l) packages"
leaks="$(in_chroot sh -c 'ls /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib 2>/dev/null' \
         | grep -E 'libzmq|openblas|libblas|libgfortran|libsodium|libcurl|libsqlite3|swift' || true)"
[ -z "$leaks" ] || die "the chroot is not minimal, it has: $leaks"
for tool in python3 swift; do
  ! in_chroot sh -c "command -v $tool" >/dev/null || die "the chroot has $tool"
done
echo "no libzmq, OpenBLAS, libgfortran, libsodium, libcurl, SQLite, Swift or Python in it"

say "unpacking $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1)) into $CHROOT/opt/stepwise"
rm -rf "$CHROOT/opt/stepwise"
mkdir -p "$CHROOT/opt/stepwise"
python3 -m zipfile -e "$WHEEL" "$CHROOT/opt/stepwise"
chmod 755 "$CHROOT/opt/stepwise/stepwise_kernel/bin/stepwise"   # zipfile drops the mode
BIN=/opt/stepwise/stepwise_kernel/bin/stepwise
ls "$CHROOT/opt/stepwise/stepwise_kernel.libs" | sed 's/^/  bundled: /'

say "ldd $BIN (inside the chroot)"
in_chroot ldd "$BIN" | sed 's/ (0x[0-9a-f]*)//'
if in_chroot ldd "$BIN" | grep -q 'not found'; then die "a library is missing"; fi

say "stepwise --version"
in_chroot "$BIN" --version

cat >"$CHROOT/tmp/check.sw" <<'SW'
let xs = [3, 1, 2]
var total = 0
for x in xs { total += x }
print("arithmetic: sum of \(xs.sorted()) is \(total); 7 * 6 = \(7 * 6); 2.5 / 4 = \(2.5 / 4)")
%seed 0
let arith = synthetic(train: 64, test: 4, seed: 1)
let teacher = program(errorRate: 0.0, seed: 0)
let why = teacher.explain(arith.train)
let student = t5(size: "tiny", tokenizer: why, seed: 0)
let run = train(student, on: why, method: stepByStep(alpha: 0.5), steps: 3, batch: 8, lr: 0.003)
print("trained a tiny T5 for 3 steps (matrix products through the bundled OpenBLAS, autograd, AdamW)")
evaluate(student, on: arith.test)
SW
rm -f "$CHROOT"/tmp/stepwise-rationales.sqlite*   # the program teacher's store from an earlier run
say "stepwise run /tmp/check.sw (inside the chroot)"
start=$(date +%s)
in_chroot sh -c "cd /tmp && $BIN run check.sw"
echo "(ran in $(( $(date +%s) - start )) s)"

say "OK: the wheel's binary runs on a bare Debian 12 with only its bundled libraries"
