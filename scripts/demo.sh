#!/usr/bin/env bash
# Builds the SDK and starts the whole flow on this machine: the ZivaCare
# sandbox and the reference backend serving the demo app, on SQLite in data/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/setup.sh --no-browser
scripts/build.sh
cargo build -p zivacare-dev --quiet
exec target/debug/zivacare-dev demo
