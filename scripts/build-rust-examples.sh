#!/usr/bin/env bash
# Builds the Rust SPA examples (www/examples/leptos, www/examples/yew, www/examples/dioxus), each a
# project of its own that depends on this crate by path, into
# target/rust-examples/NAME/dist: cargo for the wasm32 target, then the
# wasm-bindgen CLI the SDK's build uses (the same pinned version), no bundler.
# Usage: scripts/build-rust-examples.sh [leptos] [yew] [dioxus]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="$PWD/target/rust-examples"

for name in "${@:-leptos yew dioxus}"; do
  for example in $name; do
    echo "== the $example example"
    cargo build --quiet --release --target wasm32-unknown-unknown --manifest-path "www/examples/$example/Cargo.toml"
    dist="$CARGO_TARGET_DIR/$example/dist"
    rm -rf "$dist"
    mkdir -p "$dist"
    wasm-bindgen --target web --no-typescript --out-dir "$dist" --out-name example \
      "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/zivacare-connect-$example-example.wasm"
    cp "www/examples/$example/index.html" "www/examples/$example/start.js" "$dist/"
    printf '  %-8s %8d bytes of wasm, %7d gzip -9\n' "$example" \
      "$(wc -c <"$dist/example_bg.wasm")" "$(gzip -9c "$dist/example_bg.wasm" | wc -c)"
  done
done
