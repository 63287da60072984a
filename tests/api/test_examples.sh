#!/usr/bin/env bash
# The examples/ programs, linked against librockstream.so as an application
# would be, run end to end: each prints what it did, and what it left on
# disk is checked with the rockstream program.
#   test_examples.sh EXAMPLES_DIR
set -euo pipefail
ex=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/rs-examples-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { [[ "$1" == *"$2"* ]] || fail "$3: expected '$2' in: $1"; }

# every example needs the shared library, which exports only the public API
for p in embed_store versioned_state embed_replicate embed_backup; do
  # (not `ldd | grep -q`: under pipefail, grep leaving early fails ldd with SIGPIPE)
  [[ $(ldd "$ex/$p") == *"librockstream.so.0 => "* ]] || fail "$p does not link librockstream.so"
done

out=$("$ex/embed_store" "$T/store")
has "$out" "account:2 holds balance=300" "embed_store"
has "$out" "account:4 = balance=500" "embed_store scan"
has "$("$ROCKSTREAM" get --db "$T/store" account:3)" "balance=400" "what embed_store wrote"

out=$("$ex/versioned_state" "$T/chain")
has "$out" "rolled back" "versioned_state"

out=$("$ex/embed_replicate" "$T/repl" 2>"$T/repl.log")
has "$out" "content digests equal" "embed_replicate"
[[ $(stat -c %a "$T/repl/repl.key") == 600 ]] || fail "the replication key is not private"
has "$("$ROCKSTREAM" get --db "$T/repl/standby" order:000999)" "qty=" "the standby's copy"

out=$("$ex/embed_backup" "$T/backup")
has "$out" "restored copy: invoice:00042 = amount=126.42" "embed_backup"
[[ -f "$T/backup/backup.rsa" && -f "$T/backup/backup.rsa.manifest" ]] || fail "embed_backup left no archive"
# the archive opens with the program too, and holds the same data
"$ROCKSTREAM" unseal --in "$T/backup/backup.rsa" --key "$T/backup/backup.key" --to "$T/again" >/dev/null
has "$("$ROCKSTREAM" get --db "$T/again" invoice:00999)" "amount=2997.99" "the unsealed archive"
# a second run refuses to replace the key it made: nothing is overwritten
if "$ex/embed_backup" "$T/backup" 2>"$T/again.err"; then fail "embed_backup replaced its key"; fi
has "$(cat "$T/again.err")" "already exists" "embed_backup run twice"
echo "ok: 4 examples"
