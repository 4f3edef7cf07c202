#!/usr/bin/env bash
# Builds the SDK into pkg/: the ES module glue, the optimised .wasm, its types,
# and the classic-script loader connect.js.
set -euo pipefail
cd "$(dirname "$0")/.."

wasm-pack build --target web --release --no-pack --out-dir pkg --out-name zivacare_connect >/dev/null 2>pkg.log \
  || { cat pkg.log >&2; rm -f pkg.log; exit 1; }
rm -f pkg.log pkg/.gitignore
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  pkg/zivacare_connect_bg.wasm -o pkg/zivacare_connect_bg.wasm
cp js/connect.js pkg/connect.js
for f in pkg/connect.js pkg/zivacare_connect.js pkg/zivacare_connect_bg.wasm; do
  printf '%-32s %7d bytes, %6d gzip -9\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
done
