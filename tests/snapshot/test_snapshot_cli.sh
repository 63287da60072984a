#!/usr/bin/env bash
# rockstream keygen | snapshot | unseal as a person runs them: each failure
# shows its message and exit status and leaves nothing behind; a sealed
# archive never holds the plaintext; a restored database reads back.
set -euo pipefail
: "${ROCKSTREAM:?set by ctest}"
rs=$ROCKSTREAM
dir=$(mktemp -d "${TMPDIR:-/tmp}/rs-snapcli-XXXXXX")
trap 'rm -rf "$dir"' EXIT
source "$(dirname "$0")/../testlib/test_lib.sh"
cd "$dir"

checks=0
ok() { checks=$((checks + 1)); }

marker="plaintext-marker-$RANDOM$RANDOM-never-in-an-archive"
"$rs" put --db db --create marker "$marker" >/dev/null
"$rs" load --db db --keys 20k >/dev/null

# keygen: 0600, never replaces
"$rs" keygen --out k.key >/dev/null
[[ $(stat -c %a k.key) == 600 ]] || fail "key mode $(stat -c %a k.key)"
cp k.key k.copy
expect 5 "already exists" -- "$rs" keygen --out k.key
cmp -s k.key k.copy || fail "keygen replaced a key"; ok

# fail closed: no key, missing key, open key, short key: no file written
expect 1 "archives are always encrypted" -- "$rs" snapshot --db db --out a.rsa
expect 4 "key file 'nope.key'" -- "$rs" snapshot --db db --out a.rsa --key nope.key
cp k.key open.key; chmod 644 open.key
expect 11 "accessible by group or others (mode 0644)" -- "$rs" snapshot --db db --out a.rsa --key open.key
sed 's/^secret: \(.*\)..$/secret: \1/' k.key >short.key; chmod 600 short.key
expect 1 "secret key is 31 bytes, expected 32" -- "$rs" snapshot --db db --out a.rsa --key short.key
ls a.rsa* 2>/dev/null && fail "a refused snapshot left a file"; ok

# a sealed archive without compression still never holds the plaintext
"$rs" snapshot --db db --out a.rsa --key k.key --compress none >out.txt
grep -q "sealed into a.rsa" out.txt || fail "no summary"
[[ -s a.rsa && -s a.rsa.manifest ]] || fail "archive or manifest missing"
grep -qaF "$marker" a.rsa && fail "the archive holds plaintext"
grep -qaF "secret:" a.rsa.manifest && fail "the manifest holds a secret"
expect 5 "already exists" -- "$rs" snapshot --db db --out a.rsa --key k.key; ok

# the wrong key names both ids; a non-empty target is refused
"$rs" keygen --out other.key >/dev/null
id=$(sed -n 's/^id: //p' k.key); other=$(sed -n 's/^id: //p' other.key)
expect 11 "sealed with key $id, you gave key $other" -- "$rs" unseal --in a.rsa --to r1 --key other.key --no-manifest
[[ -e r1 ]] && fail "wrong key left a target"
mkdir full; touch full/mine
expect 5 "is not empty" -- "$rs" unseal --in a.rsa --to full --key k.key
[[ -e full/mine ]] || fail "non-empty target damaged"; ok

# an edited manifest is detected; the intact one verifies and restores
sed 's/\\"sequence\\":/\\"sequence\\":9/' a.rsa.manifest >edited.manifest
expect 6 "manifest authentication failed" -- "$rs" unseal --in a.rsa --to r1 --key k.key --manifest edited.manifest
"$rs" unseal --in a.rsa --to r1 --key k.key >out.txt
grep -q "matches the manifest" out.txt || fail "no digest line"
grep -q "detached manifest's MAC" out.txt || fail "the detached manifest was not checked"
[[ $("$rs" get --db r1 marker) == "$marker" ]] || fail "restored value differs"; ok

# a truncated archive says so
head -c $(( $(stat -c %s a.rsa) - 100 )) a.rsa >cut.rsa
expect 6 "archive truncated" -- "$rs" unseal --in cut.rsa --to r2 --key k.key
[[ -e r2 ]] && fail "truncated archive left a target"; ok

# passphrase from the environment, never a flag
ROCKSTREAM_PASSPHRASE=right "$rs" snapshot --db db --out p.rsa --passphrase >/dev/null
expect 11 "wrong passphrase" -- env ROCKSTREAM_PASSPHRASE=wrong "$rs" unseal --in p.rsa --to r3 --passphrase
ROCKSTREAM_PASSPHRASE=right "$rs" unseal --in p.rsa --to r3 --passphrase >/dev/null
expect 1 "there is no terminal" -- env -u ROCKSTREAM_PASSPHRASE setsid "$rs" unseal --in p.rsa --to r4 --passphrase
ok

# public-key mode: the .pub seals, only the pair unseals
"$rs" keygen --out pair.key --public >/dev/null
[[ $(stat -c %a pair.key) == 600 && -f pair.key.pub ]] || fail "keygen --public files"
"$rs" snapshot --db db --out pub.rsa --key pair.key.pub >/dev/null
expect 11 "it can seal archives but not open them" -- "$rs" unseal --in pub.rsa --to r5 --key pair.key.pub
"$rs" unseal --in pub.rsa --to r5 --key pair.key >/dev/null
[[ $("$rs" get --db r5 marker) == "$marker" ]] || fail "public-mode restore differs"; ok

# the help pages describe the commands
for c in snapshot unseal keygen; do
  "$rs" help $c >help.txt # not piped into grep -q, which may close the pipe mid-page
  grep -q "^usage: rockstream $c" help.txt || fail "help $c"
done; ok

ls -a | grep -q '\.unseal-\|\.tmp-\|\.snapshot-' && fail "temporary files left behind"
echo "snapshot cli: $checks passed, 0 failed"
