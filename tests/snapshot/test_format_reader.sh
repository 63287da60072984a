#!/usr/bin/env bash
# docs/format.md is normative: a second reader written from it alone
# (format_reader.py: Python, PyNaCl, the zstd program) must read what
# rockstream writes. For each key mode (secret, public, passphrase) and each
# chunk kind (files passed through, all compressed, none compressed): the
# second reader's files are byte for byte those `rockstream unseal` puts in
# place, and it verifies the detached manifest's MAC; a wrong key is told
# apart by key id, as rockstream does; and the content digest computed from
# the page over `rockstream scan` equals the manifest's.
set -euo pipefail
: "${ROCKSTREAM:?set by ctest}"
rs=$ROCKSTREAM
reader=$(cd "$(dirname "$0")" && pwd)/format_reader.py
py=/usr/bin/python3 # Debian's, with python3-nacl (scripts/deps.sh test)
dir=$(mktemp -d "${TMPDIR:-/tmp}/rs-format-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$rs" put --db db --create marker "sealed-$RANDOM" >/dev/null
"$rs" load --db db --keys 20k >/dev/null
"$rs" keygen --out k.key >/dev/null
"$rs" keygen --public --out p.key >/dev/null
export ROCKSTREAM_PASSPHRASE="a passphrase for the format test"

# same NAME ARGS...: seal with ARGS, read with both readers, compare
same() {
  local name=$1 read_key=$2; shift 2
  "$rs" snapshot --db db --out "$name.rsa" "$@" >/dev/null 2>&1 || fail "$name: snapshot"
  local got
  got=$("$py" "$reader" "$name.rsa" "$read_key" "$name.second" "$name.rsa.manifest") || fail "$name: second reader"
  [[ "$got" == ok*detached-mac-ok ]] || fail "$name: second reader said '$got'"
  if [[ "$read_key" == - ]]; then
    "$rs" unseal --in "$name.rsa" --to "$name.first" --passphrase >/dev/null 2>&1 || fail "$name: unseal"
  else
    "$rs" unseal --in "$name.rsa" --to "$name.first" --key "$read_key" >/dev/null 2>&1 || fail "$name: unseal"
  fi
  local n=0 f
  for f in "$name.second/db"/*; do
    cmp -s "$f" "$name.first/$(basename "$f")" || fail "$name: $(basename "$f") differs between the readers"
    n=$((n + 1))
  done
  [[ $n -gt 0 && $n == $(find "$name.first" -maxdepth 1 -type f | wc -l) ]] || fail "$name: file counts differ"
  echo "$name: $got"
}
same secret k.key --key k.key
same public p.key --key p.key.pub
same passphrase - --passphrase
same all-zstd k.key --key k.key --compress all
same no-zstd k.key --key k.key --compress none

# the content digest, from the page, over what the restored database holds
want=$(sed -n 's/.*"content_digest":{[^}]*"value":"\([0-9a-f]*\)".*/\1/p' secret.second/manifest.json)
got=$("$rs" scan --db secret.first --hex | "$py" "$reader" digest)
[[ -n "$want" && "$got" == "$want" ]] || fail "content digest: manifest '$want', from the page '$got'"
echo "content digest: $got"

# a wrong key: both readers name the two key ids
"$rs" keygen --out other.key >/dev/null
out=$("$py" "$reader" secret.rsa other.key wrong 2>&1) && fail "the second reader took a wrong key"
[[ "$out" == *"sealed with key $(sed -n 's/^id: //p' k.key), given key $(sed -n 's/^id: //p' other.key)"* ]] ||
  fail "second reader, wrong key: $out"
echo "ok: format reader"
