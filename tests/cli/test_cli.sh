#!/usr/bin/env bash
# The rockstream program end to end: help pages, load/put/get/del/scan/stat
# on a real database, binary values through stdin, and the exit codes and
# error text a person sees (4 not found, 12 busy, 6 corrupt, 1 bad usage).
# Needs $ROCKSTREAM (the program) and $RS_TEST_HELPERS (rs_store_helper).
set -euo pipefail

rs=${ROCKSTREAM:?set ROCKSTREAM to the rockstream program}
helper=${RS_TEST_HELPERS:?set RS_TEST_HELPERS to the tests build directory}/rs_store_helper
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rs-cli-XXXXXX")
holder=
cleanup() {
  if [[ -n $holder ]]; then kill -9 "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
db=$tmp/db
out=$tmp/out
errf=$tmp/err

fail() { echo "FAIL: $*" >&2; echo "--- stdout"; cat "$out" >&2; echo "--- stderr"; cat "$errf" >&2; exit 1; }

# run CODE ARGS...: runs rockstream, expects exit status CODE.
run() {
  local want=$1; shift
  local got=0
  "$rs" "$@" >"$out" 2>"$errf" || got=$?
  [[ $got == "$want" ]] || fail "rockstream $*: exit $got, expected $want"
}
# run_in CODE INPUT ARGS...: the same, with INPUT (a file) on stdin.
run_in() {
  local want=$1 input=$2; shift 2
  local got=0
  "$rs" "$@" <"$input" >"$out" 2>"$errf" || got=$?
  [[ $got == "$want" ]] || fail "rockstream $*: exit $got, expected $want"
}
has() { grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks '$2'"; }
is() { [[ "$(cat "$out")" == "$1" ]] || fail "stdout is '$(cat "$out")', expected '$1'"; }

echo "== help"
run 0 help
for c in load stat get put del scan help; do has "$out" "  $c "; done
for c in load stat get put del scan; do
  run 0 help "$c"
  has "$out" "usage: rockstream $c"
  has "$out" "Example:"
  has "$out" "--db DIR"
  run 0 "$c" --help
  has "$out" "usage: rockstream $c"
done
run 1 help nosuch
has "$errf" "no command 'nosuch'"
run 1 frobnicate
has "$errf" "no command 'frobnicate'; run 'rockstream help'"
run 1
has "$errf" "usage: rockstream <command>"
run 0 --version
has "$out" "rockstream "

echo "== a database that is not there"
run 4 get --db "$db" k
has "$errf" "rockstream: error: open: no database at '$db'"
has "$errf" "hint: check the path, or pass --create"
[[ ! -e $db ]] || fail "get on a missing database created '$db'"

echo "== put, get, del"
run 0 put --db "$db" --create greeting hello
run 0 get --db "$db" greeting
is "hello"
run 0 put --db "$db" greeting "hello again"
run 0 get --db "$db" greeting
is "hello again"
run 4 get --db "$db" nobody
has "$errf" "rockstream: error: get: key 'nobody' not found"
run 0 put --db "$db" --hex 6b6579 76616c
run 0 get --db "$db" key
is "val"
run 0 get --db "$db" --hex 6b6579
is "76616c"
run 1 get --db "$db" --hex xyz
has "$errf" "key 'xyz' is not hex"
run 0 del --db "$db" greeting key
run 4 get --db "$db" greeting
run 0 del --db "$db" never-was

echo "== binary values through stdin"
printf 'a\0b\377\n\\end' >"$tmp/bin"
run_in 0 "$tmp/bin" put --db "$db" blob -
run 0 get --db "$db" --raw blob
cmp -s "$out" "$tmp/bin" || fail "get --raw changed the bytes"
run 0 get --db "$db" blob
is 'a\x00b\xff\x0a\\end'
: >"$tmp/empty"
run_in 0 "$tmp/empty" put --db "$db" empty -
run 0 get --db "$db" --raw empty
[[ ! -s $out ]] || fail "empty value read back non-empty"

echo "== load, scan, stat"
run 0 load --db "$tmp/loaded" --keys 20k --key-size 8 --value-size 64 --sequential --batch 500 --sync none
has "$out" "loaded 20000 keys"
has "$out" "latest_seq: "
run 0 scan --db "$tmp/loaded" --keys-only --hex --limit 3
is $'0000000000000000\n0000000000000001\n0000000000000002'
run 0 scan --db "$tmp/loaded" --keys-only --hex --limit 2 --reverse
is $'0000000000004e1f\n0000000000004e1e'
run 0 scan --db "$tmp/loaded" --keys-only --hex --start 0000000000000100 --end 0000000000000103
[[ $(wc -l <"$out") == 3 ]] || fail "range scan gave $(wc -l <"$out") lines"
run 0 scan --db "$tmp/loaded" --keys-only
[[ $(wc -l <"$out") == 20000 ]] || fail "full scan gave $(wc -l <"$out") lines"
for k in user:1 user:2 users item:1; do run 0 put --db "$db" "$k" "v-$k"; done
run 0 scan --db "$db" --prefix user:
is $'user:1\tv-user:1\nuser:2\tv-user:2'
run 0 stat --db "$tmp/loaded"
for f in database_id latest_seq estimated_keys live_sst_bytes memtable_bytes block_cache_hits wal_syncs; do
  has "$out" "$f: "
done
has "$out" "sync_policy: group"
run 0 stat --db "$tmp/loaded" --property rocksdb.levelstats
has "$out" "Level"
run 4 stat --db "$tmp/loaded" --property rocksdb.nonsense
has "$errf" "no property 'rocksdb.nonsense'"

echo "== bad flags and arguments exit 1"
run 1 get --db "$db" --bogus k
has "$errf" "get: unknown option or missing value in '--bogus'"
has "$errf" "hint: run 'rockstream help <command>'"
run 1 put --db "$db" onlykey
has "$errf" "put: expected put --db DIR"
run 1 load --db "$tmp/x" --keys lots
has "$errf" "--keys 'lots': expected a count"
run 1 load --db "$tmp/x" --sync sometimes
has "$errf" "--sync 'sometimes': expected always, group or none"
run 1 get k
has "$errf" "no database given: pass --db DIR"
run 1 load --db "$tmp/x" --tier "$tmp/hot" --tier "$tmp/cold"
has "$errf" "storage tier '$tmp/hot' needs a target size"
[[ ! -e $tmp/x ]] || fail "a refused load created '$tmp/x'"

echo "== a database another process holds: exit 12"
"$helper" hold "$db" >"$tmp/hold.out" &
holder=$!
for _ in $(seq 1 300); do grep -q ready "$tmp/hold.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$tmp/hold.out" || fail "the helper never held '$db'"
run 12 get --db "$db" user:1
has "$errf" "rockstream: error: open: database '$db' is in use by another process"
has "$errf" "hint: stop the other rockstream"
run 12 put --db "$db" user:3 x
kill -9 "$holder"; wait "$holder" 2>/dev/null || true; holder=
run 0 get --db "$db" user:1
is "v-user:1"
run 4 get --db "$db" user:3

echo "== a damaged database: exit 6, and nothing changed"
cp "$db/CURRENT" "$tmp/CURRENT.good"
printf 'garbage' >"$db/CURRENT"
run 6 scan --db "$db"
has "$errf" "is corrupt"
has "$errf" "hint: rockstream changed nothing; restore it from a backup"
[[ $(cat "$db/CURRENT") == garbage ]] || fail "CURRENT was rewritten"
cp "$tmp/CURRENT.good" "$db/CURRENT"
run 0 get --db "$db" item:1
is "v-item:1"

echo "PASS"
