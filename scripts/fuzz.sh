#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets/) for SECONDS (default 60) with
# cargo fuzz and libFuzzer: the SDK's message filter and options validation,
# and the backend's checks of the SDK's forward. A crash leaves its input in
# fuzz/artifacts/<target>/ and makes this script fail.
#
# cargo fuzz passes the compiler unstable flags (sanitizers); on a stable
# toolchain RUSTC_BOOTSTRAP=1 lets it take them. A nightly toolchain needs nothing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
for target in message_filter options redirect_return forward_request; do
  echo "== fuzz $target for ${seconds}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" -- -max_total_time="$seconds" 2>&1 |
    grep -E '^Done|panicked|ERROR|SUMMARY' || true
  [ -z "$(ls -A "artifacts/$target" 2>/dev/null)" ] || { echo "fuzz: $target crashed: see fuzz/artifacts/$target"; exit 1; }
done
