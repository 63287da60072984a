#!/usr/bin/env bash
# Versioned state from the program: the example commits 100 blocks, reads
# an old height and rolls back 10; then rockstream versions, get and scan
# --at-version, rollback and prune-state on what it left, with the errors
# a person sees for a future, a pruned and a badly asked version and for a
# plain write, and a check that a refused request changed nothing.
set -euo pipefail
: "${ROCKSTREAM:?}" "${RS_TEST_HELPERS:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rs-versions-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
example="$(dirname "$RS_TEST_HELPERS")/examples/versioned_state"
db="$tmp/chain"
rs() { "$ROCKSTREAM" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
has() { [[ "$1" == *"$2"* ]] || fail "expected '$2' in: $1"; }
# runs a command that must fail with status $1; prints its stderr
refused() {
  local want=$1; shift
  local out rc=0
  out=$("$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want: $out"
  printf '%s' "$out"
}

out=$("$example" "$db")
has "$out" "committed blocks 1..100"
has "$out" "read account/11 at height 51 = 510"
has "$out" "rolled back 10 blocks: latest height is now 90"

out=$(rs versions --db "$db")
has "$out" "latest: 90"
has "$out" "readable: [1, 90]"
has "$out" "pruning: nothing"
has "$out" "latest_digest: "

# a versioned database takes no plain writes: they would be missing from
# the history that reads at older versions use
err=$(refused 1 rs put --db "$db" account/11 0)
has "$err" "holds versioned state: write through rs_store_commit"
err=$(refused 1 rs del --db "$db" account/11)
has "$err" "holds versioned state"
[[ $(rs get --db "$db" account/11) == 710 ]] || fail "the refused writes changed account/11"

[[ $(rs get --db "$db" --at-version 51 account/11) == 510 ]] || fail "get at 51"
[[ $(rs get --db "$db" account/11) == 710 ]] || fail "latest get"
[[ $(rs get --db "$db" --at-version 90 meta/height) == 90 ]] || fail "get at the latest version"
out=$(rs scan --db "$db" --at-version 3)
[[ "$out" == $'account/01\t10\naccount/02\t20\naccount/03\t30\nmeta/height\t3' ]] || fail "scan at 3: $out"

err=$(refused 4 rs get --db "$db" --at-version 95 account/00)
has "$err" "read at version 95: not committed yet; readable versions are [1, 90]"
err=$(refused 4 rs get --db "$db" --at-version 20 account/07)
has "$err" "key 'account/07' not found at version 20"
err=$(refused 1 rs get --db "$db" --at-version x account/00)
has "$err" "--at-version 'x': expected a version number"

out=$(rs rollback --db "$db" --to 80)
has "$out" "rolled back from version 90 to 80; readable versions are [1, 80]"
err=$(refused 1 rs rollback --db "$db")
has "$err" "pass --to H"

out=$(rs prune-state --db "$db" --keep-recent 10 --keep-every 25 --interval 5)
has "$out" "pruning: custom (keep-recent 10, keep-every 25, interval 5)"
has "$out" "pruned 67 versions: earliest 1 -> 70"
out=$(rs versions --db "$db" --kept)
has "$out" "readable: [70, 80]"
has "$out" $'kept: 25\nkept: 50'
has "$out" "kept_below_earliest: 2"
has "$out" "pruning: custom (keep-recent 10, keep-every 25, interval 5)"

[[ $(rs get --db "$db" --at-version 50 account/10) == 500 ]] || fail "kept version 50"
err=$(refused 4 rs get --db "$db" --at-version 30 account/10)
has "$err" "read at version 30: pruned; readable versions are [70, 80]"
has "$err" "hint: rockstream versions"

err=$(refused 4 rs rollback --db "$db" --to 60)
has "$err" "rollback to version 60: pruned; readable versions are [70, 80]"
has "$(rs versions --db "$db")" "readable: [70, 80]"

err=$(refused 1 rs prune-state --db "$db" --interval 0)
has "$err" "pruning interval 0 would never prune"
has "$err" "hint: use the policy 'nothing'"
err=$(refused 1 rs prune-state --db "$db" --pruning sometimes)
has "$err" "--pruning 'sometimes': expected nothing, everything, default or custom"
err=$(refused 1 rs prune-state --db "$db" --pruning everything --keep-recent 3)
has "$err" "takes no numbers"
has "$(rs versions --db "$db")" "readable: [70, 80]"

out=$(rs prune-state --db "$db" --pruning everything)
has "$out" "earliest 70 -> 80"
has "$(rs versions --db "$db")" "pruning: everything"

has "$(rs help versions)" "readable range"
has "$(rs help prune-state)" "--keep-every M"
echo "versions: ok"
