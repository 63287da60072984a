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

step "snapshot: seal a consistent checkpoint into an encrypted archive, then unseal it"
"$rs" keygen --out "$demo/backup.key"
"$rs" snapshot --db "$demo/db" --out "$demo/db.rsa" --key "$demo/backup.key"
"$rs" unseal --in "$demo/db.rsa" --to "$demo/db.restored" --key "$demo/backup.key"
"$rs" get --db "$demo/db.restored" greeting
step "serve: the same database over the Redis protocol, for redis-cli and any Redis client"
"$rs" serve --db "$demo/db" --listen 127.0.0.1:0 --port-file "$demo/serve.port" 2>"$demo/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [[ -s "$demo/serve.port" ]] && break; sleep 0.1; done
port=$(cut -d: -f2 "$demo/serve.port")
echo "rockstream serve listens on $(cat "$demo/serve.port") (pid $serve_pid)"
redis-cli -p "$port" set greeting "hello over RESP"
redis-cli -p "$port" get greeting
redis-cli -p "$port" info keyspace | tr -d '\r' | grep db0
kill "$serve_pid"
wait "$serve_pid"
echo "serve stopped cleanly (exit 0)"

echo
echo "demo done; the database is in $demo/db (rockstream help for more)"
