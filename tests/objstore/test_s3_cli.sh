#!/usr/bin/env bash
# rockstream's objects are ordinary S3 objects: the AWS CLI (Debian's, an
# independent client) lists what rockstream wrote and downloads it
# byte-identical, and rockstream reads what the AWS CLI uploaded; 0-byte
# and 1 GiB objects (memory stays bounded); and kill -9 in the middle of a
# multipart upload leaves no object, only an upload that can be listed and
# aborted.
source "$(dirname "$0")/../s3/s3_lib.sh"
TOOL=("$RS_TEST_HELPERS/rs_objstore_tool" --endpoint "$RS_S3_ENDPOINT")
URL="s3://$RS_S3_BUCKET/$PREFIX"
MIB=$((1 << 20))

# The AWS CLI takes seconds to start on a loaded machine: each of its
# calls below covers as much as it can.

# --- rockstream writes, the AWS CLI reads ---------------------------------
key=$(printf "inter op/\xc3\xbc+100%%.bin")
out=$("${TOOL[@]}" --part-size $((8 * MIB)) gen "$URL" "$key" $((40 * MIB + 3)) 1 2>/dev/null)
sent=$(field sha256 "$out")
etag=$(field etag "$out")
"${TOOL[@]}" put "$URL" empty </dev/null >/dev/null 2>&1
check_eq "$(aws_cli s3 cp "s3://$RS_S3_BUCKET/$PREFIX/$key" - | sha256 -)" "$sent" "the AWS CLI's download"

# --- the AWS CLI writes, rockstream reads (and 0 bytes both ways) ---------
mkdir "$T/up"
head -c $((20 * MIB + 11)) /dev/urandom >"$T/up/x y.bin"
: >"$T/up/empty"
aws_cli s3 cp --recursive "$T/up" "s3://$RS_S3_BUCKET/$PREFIX/from aws/"
out=$("${TOOL[@]}" hash "$URL" "from aws/x y.bin" 2>/dev/null)
check_eq "$(field sha256 "$out")" "$(sha256 "$T/up/x y.bin")" "rockstream's download of the AWS CLI's upload"
out=$("${TOOL[@]}" hash "$URL" "from aws/empty" 2>/dev/null)
check_eq "$(field size "$out")" 0 "rockstream reads 0 bytes"
check_eq "$(field sha256 "$out")" "$(sha256 "$T/up/empty")" "the hash of nothing"
check_eq "$("${TOOL[@]}" ls "$URL" "from aws/" 2>/dev/null)" "from aws/empty 0
from aws/x y.bin $((20 * MIB + 11))" "rockstream's listing"

# --- what the AWS CLI lists: keys, sizes and ETags as rockstream wrote them
listed=$(aws_cli s3api list-objects-v2 --bucket "$RS_S3_BUCKET" --prefix "$PREFIX/" \
  --query 'Contents[].[Key,Size,ETag]' --output text)
check_has "$listed" "$PREFIX/$key	$((40 * MIB + 3))	\"$etag\"" "the AWS CLI's listing of a multipart object"
check_has "$etag" "-6" "a multipart upload of 6 parts"
check_has "$listed" "$PREFIX/empty	0	" "the AWS CLI's listing of 0 bytes"

# --- 1 GiB, default part size (16 MiB) and parallelism (4) -----------------
# AddressSanitizer keeps freed memory in a quarantine; a small one lets the
# peak show what rockstream holds
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4"
out=$("${TOOL[@]}" gen "$URL" gib $((1024 * MIB)) 7 2>"$T/gib.err") || { cat "$T/gib.err" >&2; fail "1 GiB upload"; }
sent=$(field sha256 "$out")
rss_up=$(field maxrss_kb "$(cat "$T/gib.err")")
out=$("${TOOL[@]}" hash "$URL" gib 2>"$T/gib.err") || { cat "$T/gib.err" >&2; fail "1 GiB download"; }
check_eq "$(field sha256 "$out")" "$sent" "1 GiB back through rockstream"
check_eq "$(field size "$out")" $((1024 * MIB)) "1 GiB size"
rss_down=$(field maxrss_kb "$(cat "$T/gib.err")")
# the issue's bound: 64 MiB + part size x (parts in flight + 1)
for rss in "$rss_up" "$rss_down"; do
  ((rss <= (64 + 16 * 5) * 1024)) || fail "peak memory $rss KiB for a 1 GiB object exceeds 144 MiB"
done
"${TOOL[@]}" rm "$URL" gib >/dev/null 2>&1

# --- kill -9 in the middle of a multipart upload ---------------------------
mkfifo "$T/fifo"
"${TOOL[@]}" --part-size $((5 * MIB)) put "$URL" killed <"$T/fifo" >/dev/null 2>"$T/killed.err" &
victim=$!
PIDS+=("$victim")
exec 3>"$T/fifo"
head -c $((12 * MIB)) /dev/urandom >&3 # two parts sent, a third begun
uploads=""
for _ in $(seq 300); do
  uploads=$("${TOOL[@]}" uploads "$URL" killed 2>/dev/null)
  [[ -n "$uploads" ]] && break
  sleep 0.1
done
[[ -n "$uploads" ]] || fail "the multipart upload never began"
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
exec 3>&-
rc=0
"${TOOL[@]}" head "$URL" killed >/dev/null 2>&1 || rc=$?
check_eq "$rc" 4 "no object after kill -9 (RS_E_NOTFOUND)"
check_eq "$("${TOOL[@]}" ls "$URL" killed 2>/dev/null)" "" "no object listed"
read -r ukey uid <<<"$uploads"
check_eq "$ukey" killed "the incomplete upload is listed"
"${TOOL[@]}" abort "$URL" "$ukey" "$uid" >/dev/null 2>&1 || fail "aborting the incomplete upload"
check_eq "$("${TOOL[@]}" uploads "$URL" killed 2>/dev/null)" "" "no upload after the abort"

echo "ok: AWS CLI interoperability both ways, 0 bytes, 1 GiB in bounded memory, kill -9 mid-upload"
