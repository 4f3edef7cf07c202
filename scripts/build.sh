#!/usr/bin/env bash
# Builds the SDK into pkg/: the Wasm module (optimised with a current wasm-opt),
# its ES module glue and types, the ES module entry of the npm package
# (index.js), and the classic-script loader (connect.js), all minified.
set -euo pipefail
cd "$(dirname "$0")/.."

# Panic locations inside dependencies name their source files; keep this
# machine's paths out of the module (and the bytes out of the download).
# A 64 KiB stack instead of Rust's default 1 MiB: the module does not recurse,
# and a page then holds about 128 KiB of Wasm memory instead of 1.1 MiB.
# std is built again for the module with the `immediate-abort` panic strategy:
# a panic (which the module never means to reach) stops at once instead of
# formatting its message, so Rust's panic and formatting machinery stays out
# (3,832 bytes gzip). It is an unstable flag, taken by this stable toolchain
# with RUSTC_BOOTSTRAP=1 and its rust-src component (scripts/setup.sh adds it);
# Rust apps that depend on the crate build it the usual way.
sysroot=$(rustc --print sysroot)
export RUSTFLAGS="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src= --remap-path-prefix=$PWD=. \
  --remap-path-prefix=$sysroot/lib/rustlib/src/rust= -C link-arg=-zstack-size=65536 -Zunstable-options -Cpanic=immediate-abort"
# Its own target folder: other builds of the crate keep theirs.
export CARGO_TARGET_DIR="$PWD/target/sdk" RUSTC_BOOTSTRAP=1
wasm-pack --log-level warn build --target web --release --no-pack --out-dir pkg --out-name zivacare_connect \
  -- --features small-allocator -Z build-std=std,panic_abort
unset RUSTC_BOOTSTRAP CARGO_TARGET_DIR RUSTFLAGS
rm -f pkg/.gitignore
# The features current Rust emits for wasm32-unknown-unknown, and no others
# (--all-features would also switch on encodings browsers do not take yet).
features="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue"
# Optimised for size, before and again after the renaming to short import and
# export names (`a`, `b`, …, in the module and in its glue alike): the second
# run finds 190 bytes more.
node_modules/.bin/wasm-opt -Oz --converge $features pkg/zivacare_connect_bg.wasm -o pkg/zivacare_connect_bg.wasm
node_modules/.bin/wasm-opt $features --strip-producers --strip-target-features --minify-imports-and-exports-and-modules \
  pkg/zivacare_connect_bg.wasm -o pkg/zivacare_connect_bg.wasm >target/wasm-names.json
node_modules/.bin/wasm-opt -Oz --converge $features pkg/zivacare_connect_bg.wasm -o pkg/zivacare_connect_bg.wasm
node scripts/minify-names.mjs target/wasm-names.json pkg/zivacare_connect.js
rm -f pkg/zivacare_connect_bg.wasm.d.ts

esbuild=node_modules/.bin/esbuild
$esbuild pkg/zivacare_connect.js --minify --format=esm --log-level=warning --allow-overwrite --outfile=pkg/zivacare_connect.js
$esbuild js/index.js --bundle --minify --format=esm --log-level=warning \
  --external:./zivacare_connect.js --outfile=pkg/index.js
sri() { node -e 'const c = require("crypto"); process.stdout.write("sha384-" + c.createHash("sha384").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$1"; }
$esbuild js/classic.js --bundle --minify --format=iife --log-level=warning \
  --define:__WASM_INTEGRITY__="\"$(sri pkg/zivacare_connect_bg.wasm)\"" --outfile=pkg/connect.js
for adapter in react vue; do
  $esbuild js/$adapter.js --bundle --minify --format=esm --log-level=warning \
    --external:./index.js --external:$adapter --outfile=pkg/$adapter.js
done
cp js/index.d.ts js/connect.d.ts js/react.d.ts js/vue.d.ts pkg/

# Subresource Integrity of every built file, for <script integrity=…>.
{
  echo "{"
  first=1
  for f in pkg/*.js pkg/*.wasm; do
    [ $first = 1 ] || echo ","
    first=0
    printf '  "%s": "%s"' "${f#pkg/}" "$(sri "$f")"
  done
  printf '\n}\n'
} >pkg/integrity.json

# The server entry, as written (it is not for pages: no integrity hash).
cp js/server.js js/server.browser.js js/server.d.ts pkg/

echo "script-tag install (what a page downloads):"
for f in pkg/connect.js pkg/zivacare_connect_bg.wasm; do
  printf '  %-30s %7d bytes, %6d gzip -9\n' "$f" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
done
