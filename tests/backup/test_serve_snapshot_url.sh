#!/usr/bin/env bash
# SNAPSHOT to an s3:// URL on a live `rockstream serve` (radosgw from the
# s3 fixture): the archive streams into the bucket and the manifest comes
# last; the reply and INFO name the URL; the archive unseals from the URL;
# URLs outside --snapshot-url, with "..", or without the option are
# refused, and an existing name fails the snapshot; --snapshot-url takes
# only s3:// URLs.
source "$(dirname "$0")/../server/serve_lib.sh"
: "${RS_S3_STATE:?run through ctest: the s3 fixture sets it}"
# shellcheck disable=SC1090
source "$RS_S3_STATE"
TOOL=("$RS_TEST_HELPERS/rs_objstore_tool" --endpoint "$RS_S3_ENDPOINT")
prefix="s3://$RS_S3_BUCKET/serve-url-$$"

"$ROCKSTREAM" keygen --out "$T/k.key" >/dev/null
"$ROCKSTREAM" load --db "$T/db" --create --keys 20k >/dev/null
"$ROCKSTREAM" put --db "$T/db" marker "sealed by the server" >/dev/null

# only s3:// URLs: a directory is --snapshot-dir's
rc=0
"$ROCKSTREAM" serve --db "$T/db" --listen 127.0.0.1:0 --key "$T/k.key" --snapshot-url "file://$T/x" \
  2>"$T/refused.err" || rc=$?
check_eq "$rc" 1 "serve --snapshot-url file://"
check_has "$(cat "$T/refused.err")" "expected s3://BUCKET[/DIR]" "serve --snapshot-url file://"

start_serve url --db "$T/db" --key "$T/k.key" --snapshot-url "$prefix/daily/" --s3-endpoint "$RS_S3_ENDPOINT"
reply=$(rcli snapshot "$prefix/daily/a.rsa")
check_has "$reply" "$prefix/daily/a.rsa.manifest" "SNAPSHOT's reply names the manifest's URL"
check_eq "$("${TOOL[@]}" ls "$prefix/daily" "" 2>/dev/null | cut -d' ' -f1 | tr '\n' ' ')" "a.rsa a.rsa.manifest " \
  "archive and manifest in the bucket"
check_eq "$(info_field snapshot_last_status)" ok "INFO snapshot_last_status"
check_eq "$(info_field snapshot_last_path)" "$prefix/daily/a.rsa" "INFO snapshot_last_path"
"$ROCKSTREAM" unseal --in "$prefix/daily/a.rsa" --to "$T/restored" --key "$T/k.key" \
  --s3-endpoint "$RS_S3_ENDPOINT" >/dev/null
check_eq "$("$ROCKSTREAM" get --db "$T/restored" marker)" "sealed by the server" "the restored database"

# refusals: outside the prefix, "..", and an existing name (found by the
# job's thread, before its checkpoint)
check_has "$(rcli snapshot "s3://$RS_S3_BUCKET/elsewhere/a.rsa")" "is outside --snapshot-url" "another prefix"
check_has "$(rcli snapshot "$prefix/daily/../a.rsa")" "holds '..'" "a URL with .."
check_has "$(rcli snapshot "$prefix/daily/a.rsa")" "ERR snapshot failed:" "an existing name"
check_has "$(info_field snapshot_last_error)" "already exists: refusing to replace it" "INFO snapshot_last_error"
stop_serve TERM

# without --snapshot-url, no URL at all
start_serve nourl --db "$T/db" --key "$T/k.key"
check_has "$(rcli snapshot "$prefix/daily/b.rsa")" "this server writes no URLs" "SNAPSHOT to a URL without the option"
stop_serve TERM
check_eq "$("${TOOL[@]}" ls "$prefix/daily" b 2>/dev/null)" "" "nothing written by refused snapshots"
echo "ok: SNAPSHOT to s3:// URLs under --snapshot-url"
