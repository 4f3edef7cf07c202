#!/usr/bin/env bash
# Runs every test: lints, native unit and handler tests (the backend's on SQLite
# and on PostgreSQL), the SDK's browser tests in headless Chromium, and the
# end-to-end tests across real origins.
# Installs what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup.sh

# The runners' output also goes to a log, to add up the counts at the end.
log="$(mktemp)"
pg=""
cleanup() {
  rm -f "$log"
  if [ -n "$pg" ]; then scripts/postgres.sh stop "${pg#* }"; fi
}
trap cleanup EXIT
counted() { "$@" 2>&1 | tee -a "$log"; }

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The module and its browser tests, as built for the browser.
cargo clippy --all-targets --target wasm32-unknown-unknown --quiet -- -D warnings

echo "== fuzz targets compile (running them: scripts/fuzz.sh)"
cargo check --quiet --manifest-path fuzz/Cargo.toml --bins

echo "== build"
scripts/build.sh
cargo build -p zivacare-dev --quiet

echo "== native tests (SDK logic, sandbox and backend handlers)"
counted cargo test --workspace --quiet

echo "== backend tests again on PostgreSQL over TLS (a throwaway server; two instances share one database)"
pg=$(scripts/postgres.sh)
ZIVACARE_TEST_DATABASE_URL="${pg% *}?sslmode=require" ZIVACARE_TEST_DATABASE_CA="${pg#* }/ca.pem" \
  counted cargo test -p zivacare-dev --test backend --test postgres --quiet -- --include-ignored
scripts/postgres.sh stop "${pg#* }"
pg=""

echo "== SDK browser tests (wasm-bindgen-test, headless Chromium)"
CHROMEDRIVER="$(command -v chromedriver)" counted wasm-pack --log-level warn test --headless --chrome .

echo "== load and crash, small (the full run: see the README)"
counted target/debug/zivacare-load 600 20 --crash

echo "== end-to-end tests (Playwright, headless Chromium, real servers)"
counted node --test --test-reporter=spec tests/e2e/

# One closing line for all the runners above.
passed=$(grep -Eo '(test result: ok\. [0-9]+ passed|^ℹ pass [0-9]+)' "$log" | grep -Eo '[0-9]+' | awk '{ s += $1 } END { print s + 0 }')
failed=$(grep -Eo '([0-9]+ failed;|^ℹ fail [0-9]+)' "$log" | grep -Eo '[0-9]+' | awk '{ s += $1 } END { print s + 0 }')
echo "all: ${passed:-0} passed, ${failed:-0} failed"
