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
demo=$(cd "$demo" && pwd) # the server is told where to write its snapshot: a full path
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

step "serve: the same database over the Redis protocol, for redis-cli and any Redis client"
"$rs" keygen --out "$demo/backup.key" --public  # the server gets only the .pub half: it seals, never reads
"$rs" serve --db "$demo/db" --listen 127.0.0.1:0 --port-file "$demo/serve.port" --key "$demo/backup.key.pub" \
  2>"$demo/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [[ -s "$demo/serve.port" ]] && break; sleep 0.1; done
port=$(cut -d: -f2 "$demo/serve.port")
echo "rockstream serve listens on $(cat "$demo/serve.port") (pid $serve_pid)"
redis-cli -p "$port" set greeting "hello over RESP"
redis-cli -p "$port" get greeting
redis-cli -p "$port" info keyspace | tr -d '\r' | grep db0

step "snapshot: the server seals a consistent checkpoint into an encrypted archive while it serves; unseal it"
redis-cli -p "$port" --raw snapshot "$demo/db.rsa" | paste - -
"$rs" unseal --in "$demo/db.rsa" --to "$demo/db.restored" --key "$demo/backup.key"
"$rs" get --db "$demo/db.restored" greeting
kill "$serve_pid"
wait "$serve_pid"
echo "serve stopped cleanly (exit 0)"

step "replicate: a primary and a warm standby that catches up, then serves the same data"
"$rs" keygen --repl --out "$demo/repl.key"
"$rs" serve --db "$demo/db" --listen 127.0.0.1:0 --port-file "$demo/primary.port" \
  --repl-listen 127.0.0.1:0 --repl-key "$demo/repl.key" 2>"$demo/primary.log" &
primary_pid=$!
for _ in $(seq 100); do [[ -s "$demo/primary.port" ]] && break; sleep 0.1; done
pport=$(cut -d: -f2 "$demo/primary.port")
rport=$(redis-cli -p "$pport" info replication | tr -d '\r' | sed -n 's/^repl_listen_port://p')
"$rs" follow --db "$demo/standby" --primary "127.0.0.1:$rport" --repl-key "$demo/repl.key" \
  --listen 127.0.0.1:0 --port-file "$demo/standby.port" 2>"$demo/standby.log" &
standby_pid=$!
for _ in $(seq 600); do [[ -s "$demo/standby.port" ]] && break; sleep 0.1; done
fport=$(cut -d: -f2 "$demo/standby.port")
redis-cli -p "$pport" set block 42 >/dev/null
echo "WAIT 1 follower: $(redis-cli -p "$pport" wait 1 5000) acknowledged"
redis-cli -p "$fport" info replication | tr -d '\r' | grep -E '^(role|master_link_status|slave_repl_offset|master_repl_offset|repl_resyncs):'
echo "the standby reads block = $(redis-cli -p "$fport" get block); a write there: $(redis-cli -p "$fport" set x 1)"
echo "content digests: primary $(redis-cli -p "$pport" debug digest | cut -c1-16)... standby $(redis-cli -p "$fport" debug digest | cut -c1-16)..."
kill "$standby_pid" "$primary_pid"
wait "$standby_pid" "$primary_pid"

echo
echo "demo done; the database is in $demo/db (rockstream help for more)"
