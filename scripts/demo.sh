#!/usr/bin/env bash
# Quick start 1: install what is missing, build rockstream, and run its main
# job on an embedded default: a local directory, no cloud account.
# ROCKSTREAM_DEMO_DIR chooses where (default: a fresh temporary directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh" build

build="$root/build/release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRS_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
rs="$build/cli/rockstream"

demo=${ROCKSTREAM_DEMO_DIR:-$(mktemp -d /tmp/rockstream-demo.XXXXXX)}
mkdir -p "$demo"
echo "== rockstream demo in $demo"

step() { echo; echo "== $*"; }

step "write: fill a database with 1M keys (16-byte keys, 100-byte values)"
"$rs" load --db "$demo/db" --keys 1M --threads 2

step "read it back"
"$rs" put --db "$demo/db" greeting "hello from rockstream"
"$rs" get --db "$demo/db" greeting
"$rs" scan --db "$demo/db" --limit 3 --hex --keys-only

step "versioned state: commit 100 blocks, read an old height, roll back 10, prune"
"$build/examples/versioned_state" "$demo/chain"
"$rs" versions --db "$demo/chain"
"$rs" prune-state --db "$demo/chain" --keep-recent 20 --interval 10

echo
echo "demo done; the database is in $demo/db (rockstream help for more)"
