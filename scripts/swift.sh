#!/usr/bin/env bash
# Runs the Swift toolchain for the Makefile: `scripts/swift.sh --check` says what is missing when
# there is no Swift >= 6.0; `scripts/swift.sh build|test ARGS...` runs `swift build|test ARGS...`.
#
# It also turns SwiftPM's "prohibited flag(s): -isystem, /usr/include/mit-krb5" warnings into one
# plain line, shown once. Their cause: Debian's libzmq.pc lists Kerberos (krb5-gssapi) in Requires.private,
# whose Cflags carry `-isystem /usr/include/mit-krb5`. SwiftPM accepts only -I/-L/-l-style flags
# from pkg-config files, so it drops that one and warns. zmq.h needs no Kerberos header, so the
# build is unaffected.
set -uo pipefail

SWIFT="${SWIFT:-swift}"
MIN_MAJOR=6
MIN_MINOR=0

need_swift() {
  cat >&2 <<MSG
Stepwise needs Swift ${MIN_MAJOR}.${MIN_MINOR} or newer to build; $1.
Get it from https://www.swift.org/install/linux/ , either
  - the Debian 12 tarball: download swift-<version>-RELEASE-debian12.tar.gz, unpack it (for
    example into /opt/swift) and put its usr/bin on PATH: export PATH=/opt/swift/usr/bin:\$PATH
  - or swiftly, swift.org's toolchain installer, which puts swift on PATH for you:
      curl -O https://download.swift.org/swiftly/linux/swiftly-\$(uname -m).tar.gz
      tar zxf swiftly-\$(uname -m).tar.gz && ./swiftly init
(swift.org lists the few Debian packages the toolchain itself needs, such as libc6-dev and binutils.)
Then run make again, or name the toolchain: make SWIFT=/path/to/usr/bin/swift ...
(No Swift at all? \`make wheel\` on another machine gives a wheel that needs none: see README.md.)
MSG
  exit 1
}

check() {
  command -v "$SWIFT" >/dev/null 2>&1 || need_swift "\`$SWIFT\` was not found on PATH"
  local version
  version="$("$SWIFT" --version 2>/dev/null | sed -n 's/.*Swift version \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n1)"
  [ -n "$version" ] || need_swift "\`$SWIFT --version\` did not say which Swift it is"
  set -- $version
  if [ "$1" -lt "$MIN_MAJOR" ] || { [ "$1" -eq "$MIN_MAJOR" ] && [ "$2" -lt "$MIN_MINOR" ]; }; then
    need_swift "\`$SWIFT\` is Swift $1.$2"
  fi
}

if [ "${1:-}" = "--check" ]; then
  check
  exit 0
fi

check
# Said once per clone (a stamp under .build/); later builds drop the warning silently.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAMP="$ROOT/.build/.prohibited-flags-explained"
said=0; [ -e "$STAMP" ] && said=1
"$SWIFT" "$@" 2>&1 | awk -v said="$said" -v stamp="$STAMP" '
  /prohibited flag\(s\): -isystem, \/usr\/include\/mit-krb5/ {
    if (!said++) {
      print "note: SwiftPM drops -isystem /usr/include/mit-krb5 (from libzmq'"'"'s pkg-config file, via Kerberos); zmq.h does not need it, so its \"prohibited flag(s)\" warning is harmless"
      system("mkdir -p \"$(dirname " stamp ")\" && touch " stamp)
    }
    next
  }
  { print; fflush() }'
