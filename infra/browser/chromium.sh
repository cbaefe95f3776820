#!/usr/bin/env bash
# Debian's chromium for the browser tests (test/e2e/admin-page.test.ts drives it with playwright-core).
# Idempotent: does nothing when the binary is there, otherwise installs the 'chromium' package with
# apt-get. Prints the binary's path on stdout; progress and errors go to stderr.
#
#   bash infra/browser/chromium.sh
#
# Env: LLMCACHE_CHROMIUM_BIN (default /usr/bin/chromium).
set -uo pipefail

BIN=${LLMCACHE_CHROMIUM_BIN:-/usr/bin/chromium}

say() { printf '[chromium] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

if [[ ! -x $BIN ]]; then
  command -v apt-get >/dev/null 2>&1 || die "$BIN is missing and there is no apt-get: install Chromium and set LLMCACHE_CHROMIUM_BIN"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "$BIN is missing; installing it needs root or sudo (apt-get install chromium)"
    sudo="sudo"
  fi
  say "installing Debian's 'chromium' package (apt-get); this takes a few minutes once"
  $sudo apt-get update -qq >&2 || say "apt-get update failed; trying the install with the lists at hand"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >&2 ||
    die "apt-get install chromium failed (see above)"
  [[ -x $BIN ]] || die "the chromium package is installed but $BIN is still missing"
fi
# (Debian's wrapper script may print a harmless shell warning before the version: not shown.)
"$BIN" --version >&2 2>/dev/null || die "$BIN does not run"
echo "$BIN"
