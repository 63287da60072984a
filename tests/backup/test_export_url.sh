#!/usr/bin/env bash
# rockstream snapshot --out URL and unseal --in URL against radosgw (and a
# file:// URL): the archive streams into a multipart upload and the
# manifest is the commit point; the AWS CLI sees ordinary objects; an
# existing name, a wrong secret and a missing bucket stop everything
# before any work; kill -9 during the upload leaves no archive and no
# manifest, only an upload that can be aborted; a tampered manifest fails.
source "$(dirname "$0")/../s3/s3_lib.sh"
rs=${ROCKSTREAM:?set by ctest}
TOOL=("$RS_TEST_HELPERS/rs_objstore_tool" --endpoint "$RS_S3_ENDPOINT")
S3=(--s3-endpoint "$RS_S3_ENDPOINT")
URL="s3://$RS_S3_BUCKET/$PREFIX"
cd "$T"

"$rs" put --db db --create marker "in the archive" >/dev/null
"$rs" load --db db --keys 20k >/dev/null
"$rs" keygen --out k.key >/dev/null

# --- the help shows the URL forms ------------------------------------------
check_has "$("$rs" help snapshot)" "s3://BUCKET/DIR/NAME.rsa" "help snapshot"
check_has "$("$rs" help unseal)" "--in FILE|URL" "help unseal"

# --- a round trip through S3 -----------------------------------------------
"$rs" snapshot --db db --out "$URL/db.rsa" --key k.key "${S3[@]}" --part-size 5M >sealed.txt
check_has "$(cat sealed.txt)" "manifest        $URL/db.rsa.manifest" "the manifest's URL"
# the AWS CLI (slow to start: one call for the listing, one for copies)
listed=$(aws_cli s3api list-objects-v2 --bucket "$RS_S3_BUCKET" --prefix "$PREFIX/" --query 'Contents[].Key' --output text)
check_eq "$listed" "$PREFIX/db.rsa	$PREFIX/db.rsa.manifest" "the AWS CLI lists archive and manifest"
"$rs" unseal --in "$URL/db.rsa" --to restored --key k.key "${S3[@]}" >unsealed.txt
check_has "$(cat unsealed.txt)" "the detached manifest's MAC and archive hash" "unseal checked the manifest"
check_eq "$("$rs" get --db restored marker)" "in the archive" "the restored database"
# the AWS CLI's copies are the same archive: unsealed locally, they verify
aws_cli s3 cp --recursive "$URL/" aws/
"$rs" unseal --in aws/db.rsa --to restored2 --key k.key >/dev/null

# --- refusals before any work -----------------------------------------------
before=$("${TOOL[@]}" head "$URL" db.rsa.manifest 2>/dev/null)
expect 5 "already exists: refusing to replace it" -- "$rs" snapshot --db db --out "$URL/db.rsa" --key k.key "${S3[@]}"
check_eq "$("${TOOL[@]}" head "$URL" db.rsa.manifest 2>/dev/null)" "$before" "the manifest was not replaced"
AWS_SECRET_ACCESS_KEY=wrong-secret-never-printed expect 11 "access denied" -- \
  "$rs" snapshot --db db --out "$URL/denied.rsa" --key k.key "${S3[@]}"
grep -q "wrong-secret-never-printed" err.txt && fail "the secret appears in the error"
grep -q "AWS_SECRET_ACCESS_KEY" err.txt || fail "no hint about the credentials"
expect 4 "NoSuchBucket" -- "$rs" snapshot --db db --out "s3://rs-no-such-bucket/x/db.rsa" --key k.key "${S3[@]}"
ls -d .db.snapshot-* 2>/dev/null && fail "a refused snapshot left a checkpoint"
check_eq "$("${TOOL[@]}" ls "$URL" denied 2>/dev/null)" "" "nothing written after access denied"
expect 4 "no such object" -- "$rs" unseal --in "$URL/missing.rsa" --to nowhere --key k.key "${S3[@]}"
[[ -e nowhere ]] && fail "a failed unseal left its target"

# --- a tampered manifest is refused ----------------------------------------
sed 's/\\"sequence\\":[0-9]*/\\"sequence\\":1/' aws/db.rsa.manifest >tampered.manifest
cmp -s aws/db.rsa.manifest tampered.manifest && fail "the manifest was not tampered with"
"${TOOL[@]}" put "$URL" db.rsa.manifest <tampered.manifest >/dev/null 2>&1
expect 6 "manifest authentication failed" -- "$rs" unseal --in "$URL/db.rsa" --to t1 --key k.key "${S3[@]}"
# without the detached manifest the archive's own still vouches for it
"${TOOL[@]}" rm "$URL" db.rsa.manifest >/dev/null 2>&1
"$rs" unseal --in "$URL/db.rsa" --to t2 --key k.key "${S3[@]}" >/dev/null
expect 4 "db.rsa.manifest" -- "$rs" unseal --in "$URL/db.rsa" --manifest "$URL/db.rsa.manifest" --to t3 \
  --key k.key "${S3[@]}"

# --- file:// URLs -------------------------------------------------------------
"$rs" snapshot --db db --out "file://$T/exports/db.rsa" --key k.key >/dev/null
[[ -s exports/db.rsa && -s exports/db.rsa.manifest ]] || fail "file:// export missing"
"$rs" unseal --in "file://$T/exports/db.rsa" --to restored3 --key k.key >/dev/null
check_eq "$("$rs" get --db restored3 marker)" "in the archive" "restored from file://"

# --- kill -9 in the middle of the upload -------------------------------------
# a slow link (each request held 500 ms), so the upload is under way for
# seconds: long enough to kill it in the middle
"$rs" load --db big --create --keys 30k --value-size 1000 --compressibility 0 >/dev/null
start_proxy slow --delay-ms 500
"$rs" snapshot --db big --out "$URL/killed.rsa" --key k.key --s3-endpoint "$PROXY" --part-size 5M --parallel 1 \
  --compress none >/dev/null 2>killed.err &
victim=$!
PIDS+=("$victim")
uploads=""
for _ in $(seq 600); do
  uploads=$("${TOOL[@]}" uploads "$URL" killed.rsa 2>/dev/null)
  [[ -n "$uploads" ]] && break
  kill -0 "$victim" 2>/dev/null || { cat killed.err >&2; fail "the snapshot ended before its upload was seen"; }
  sleep 0.1
done
[[ -n "$uploads" ]] || fail "the multipart upload never began"
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
check_eq "$("${TOOL[@]}" ls "$URL" killed 2>/dev/null)" "" "no archive and no manifest after kill -9"
read -r ukey uid <<<"$uploads"
check_eq "$ukey" killed.rsa "the incomplete upload is listed"
"${TOOL[@]}" abort "$URL" "$ukey" "$uid" >/dev/null 2>&1 || fail "aborting the upload"
check_eq "$("${TOOL[@]}" uploads "$URL" killed 2>/dev/null)" "" "no upload after the abort"
stop_proxy

echo "ok: snapshot and unseal through s3:// and file:// URLs"
