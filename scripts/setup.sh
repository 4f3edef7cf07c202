#!/usr/bin/env bash
# Installs what the build and the tests need, only what is missing: the wasm
# target and std's sources (rust-src), a wasm-bindgen-cli matching Cargo.lock, wasm-pack, npm dev
# dependencies (a current wasm-opt, selenium-webdriver, Lighthouse) and, unless
# --no-browser, the three browser engines the tests run in with their WebDriver
# servers (Debian's Chromium and ChromeDriver, Firefox ESR and geckodriver,
# WebKitGTK's WebKitWebDriver with Xvfb for its display), sqlite3 and
# PostgreSQL (the server the backend's tests start). Quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=1
[ "${1:-}" = "--no-browser" ] && browser=0
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The module's build compiles std for it (scripts/build.sh): std's sources.
if [ ! -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library/std" ]; then
  echo "setup: adding the rust-src component"
  rustup component add rust-src
fi

# wasm-bindgen-cli must be exactly the version Cargo.lock pins.
want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
got=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$got" != "$want" ]; then
  echo "setup: installing wasm-bindgen-cli $want (found: ${got:-none})"
  # Not --locked: one of its locked dependencies is not on every registry mirror.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

if ! have wasm-pack; then
  echo "setup: installing wasm-pack (several minutes)"
  cargo install wasm-pack
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dev dependencies"
  npm ci --no-audit --no-fund
fi

if [ "$browser" = 1 ]; then
  missing=()
  have chromium || missing+=(chromium)
  have chromedriver || missing+=(chromium-driver)
  have firefox-esr || missing+=(firefox-esr)
  have WebKitWebDriver || missing+=(webkit2gtk-driver)
  have xvfb-run || missing+=(xvfb)
  have sqlite3 || missing+=(sqlite3)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  have openssl || missing+=(openssl) # the test server's certificates
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]} from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! have geckodriver; then
    echo "setup: installing geckodriver (several minutes)"
    cargo install --locked geckodriver
  fi
fi
