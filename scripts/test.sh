#!/usr/bin/env bash
# Runs every test: lints, native unit and handler tests (the backend's on SQLite
# and on PostgreSQL), the SDK's browser tests and the end-to-end tests across
# real origins, each in the three engines: Chromium, Firefox and WebKit.
# Installs what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup.sh

# The runners' output also goes to a log, to add up the counts at the end.
log="$(mktemp)"
pg=""
cleanup() {
  rm -f "$log" "$log".*
  if [ -n "$pg" ]; then scripts/postgres.sh stop "${pg#* }"; fi
}
trap cleanup EXIT
counted() { "$@" 2>&1 | tee -a "$log"; }
# The same, for a runner of one engine's tests: its counts are that engine's too.
counted_in() { local engine=$1; shift; "$@" 2>&1 | tee -a "$log" "$log.$engine"; }

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

echo "== the npm package: its types resolve for ESM and bundlers (attw), and it lints clean (publint)"
node_modules/.bin/attw --pack . --profile esm-only --format table-flipped
node_modules/.bin/publint --strict
echo "== the crates' docs (every public item documented, no broken link)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet -p zivacare-connect --target wasm32-unknown-unknown
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet -p zivacare -p zivacare-sandbox --all-features

echo "== the crates as crates.io would take them (packaged and built from the package, not uploaded)"
cargo publish --workspace --dry-run --allow-dirty --quiet 2>&1 | { grep -v "^warning: \(ignoring test\|aborting upload\)" || true; }

echo "== native tests (SDK logic; the zivacare crate and the sandbox over real HTTP, with their doc examples; backend handlers)"
counted cargo test --workspace --quiet

echo "== the Node server entry (@zivacare/connect/server) against the sandbox, and its parity with the Rust route"
counted node --test --test-reporter=spec tests/node/

echo "== backend tests again on PostgreSQL over TLS (a throwaway server; two instances share one database)"
pg=$(scripts/postgres.sh)
ZIVACARE_TEST_DATABASE_URL="${pg% *}?sslmode=require" ZIVACARE_TEST_DATABASE_CA="${pg#* }/ca.pem" \
  counted cargo test -p zivacare-dev --test backend --test postgres --quiet -- --include-ignored
scripts/postgres.sh stop "${pg#* }"
pg=""

# Each engine as its own command: with several drivers named at once, wasm-pack
# runs one of them twice. WebKit has no headless mode: it runs under Xvfb.
echo "== SDK browser tests (wasm-bindgen-test) in Chromium"
CHROMEDRIVER="$(command -v chromedriver)" counted_in chromium wasm-pack --log-level warn test --headless --chrome .
echo "== SDK browser tests (wasm-bindgen-test) in Firefox"
GECKODRIVER="$(command -v geckodriver)" counted_in firefox wasm-pack --log-level warn test --headless --firefox .
echo "== SDK browser tests (wasm-bindgen-test) in WebKit"
counted_in webkit xvfb-run -a node scripts/webkit-test-driver.mjs -- \
  wasm-pack --log-level warn test --headless --safari --safaridriver "$(command -v WebKitWebDriver)" .

echo "== load and crash, small (the full run: see docs/benchmarks.md)"
counted target/debug/zivacare-load 600 20 --crash

echo "== the Rust SPA examples (Leptos, Yew, Dioxus) on the crate's Rust API, for the end-to-end tests"
scripts/build-rust-examples.sh

echo "== end-to-end tests in Chromium, Firefox and WebKit (WebDriver, real servers)"
counted xvfb-run -a node --test --test-reporter=spec tests/e2e/

# One closing line for all the runners above, with each engine's share.
sum() { grep -Eo "$1" "$2" 2>/dev/null | grep -Eo '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'; }
passed=$(sum '(test result: ok\. [0-9]+ passed|^ℹ pass [0-9]+)' "$log")
failed=$(sum '([0-9]+ failed;|^ℹ fail [0-9]+)' "$log")
engines=""
for engine in chromium firefox webkit; do
  in_browser=$(sum 'test result: ok\. [0-9]+ passed' "$log.$engine")
  end_to_end=$(grep -Ec "^ *✔ \[$engine\]" "$log" || true)
  engines="$engines${engines:+, }$engine $((in_browser + end_to_end))"
done
echo "all: ${passed:-0} passed, ${failed:-0} failed (in the browser engines: $engines)"
