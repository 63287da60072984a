#!/usr/bin/env bash
# Object storage: rockstream's object layer (bench/objstore_cp.c) against
# `aws s3 cp` (Debian's AWS CLI) and `rclone copy` (Debian's rclone), each
# with its default part size and parallelism, uploading and downloading one
# file of random bytes to and from radosgw on 127.0.0.1. The tools take
# turns (the order rotates each round), ROUNDS rounds; prints the median
# MB/s, CPU seconds per GB (user + system) and peak memory of each, and
# rockstream's ratios to the others. Every download is compared with the
# file, outside the timing.
#
# Then `rockstream snapshot --out s3://...` of a database of about
# SNAPSHOT_MIB MiB (default 1024; 0 skips it) against `snapshot --out` a
# local file followed by `aws s3 cp` of archive and manifest, turn about,
# the same rounds: the median times and their ratio (sealing and uploading
# overlap in the first).
#
#   bench/bench_objstore.sh [BUILD_DIR] [MIB] [ROUNDS]
# BUILD_DIR defaults to build/rel (a Release build), MIB to 1024, ROUNDS to
# 3. It starts its own radosgw (tests/s3/rgw.sh), or uses the one whose
# state file RS_S3_STATE names.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/rel}
mib=${2:-1024}
rounds=${3:-3}
rs=$build/cli/rockstream
cp_bin=$build/bench/objstore_cp
source "$root/bench/bench_lib.sh"
bench_setup objstore /usr/bin/aws rclone /usr/bin/time
[[ -x "$cp_bin" ]] || { echo "no $cp_bin: cmake --build $build" >&2; exit 2; }

own_rgw=0
state=${RS_S3_STATE:-}
if [[ -z "$state" ]]; then
  state=$tmp/s3.env
  own_rgw=1
  echo "starting radosgw (tests/s3/rgw.sh)..." >&2
  bash "$root/tests/s3/rgw.sh" start "$state"
fi
bench_before_cleanup() { if ((own_rgw)); then bash "$root/tests/s3/rgw.sh" stop "$state"; fi; }
# shellcheck disable=SC1090
source "$state"
# objstore_cp reads the endpoint as newer AWS tools do; aws 2.9 needs --endpoint-url
export AWS_ENDPOINT_URL=$RS_S3_ENDPOINT
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT=$RS_S3_ENDPOINT \
  RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY

head -c $((mib << 20)) /dev/urandom >"$tmp/data"
mkdir -p "$tmp/back"
remote="s3://$RS_S3_BUCKET/bench"

# timed LOGNAME CMD...: runs CMD, appends "wall user sys maxrss_kb" to LOGNAME
timed() {
  local log=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  cat "$tmp/time" >>"$tmp/$log"
}

upload() {
  case $1 in
  rockstream) timed "$1.up" "$cp_bin" up "$tmp/data" "$remote" data ;;
  aws) timed "$1.up" /usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3 cp "$tmp/data" "$remote/data" --only-show-errors ;;
  rclone) timed "$1.up" rclone copy "$tmp/data" "rgw:$RS_S3_BUCKET/bench/" ;;
  esac
}

download() {
  rm -f "$tmp/back/data"
  case $1 in
  rockstream) timed "$1.down" "$cp_bin" down "$remote" data "$tmp/back/data" ;;
  aws) timed "$1.down" /usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3 cp "$remote/data" "$tmp/back/data" --only-show-errors ;;
  rclone) timed "$1.down" rclone copy "rgw:$RS_S3_BUCKET/bench/data" "$tmp/back/" ;;
  esac
  cmp -s "$tmp/data" "$tmp/back/data" || { echo "$1: the download differs from the file" >&2; exit 1; }
}

tools=(rockstream aws rclone)
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < ${#tools[@]}; i++)); do
    tool=${tools[$(((i + r) % ${#tools[@]}))]}
    echo "round $((r + 1)): $tool" >&2
    upload "$tool"
    download "$tool"
    /usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3 rm "$remote/data" --only-show-errors
  done
done

# median FILE COLUMN-EXPRESSION: the median over rounds of an awk expression
median() {
  awk "{print $2}" "$tmp/$1" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

gb=$(awk "BEGIN {print $mib * 1048576 / 1e9}")
printf "%s MiB of random bytes, radosgw on 127.0.0.1, %d rounds, medians\n\n" "$mib" "$rounds"
printf "%-11s %9s %12s %10s %9s %12s %10s\n" tool "up MB/s" "up CPU s/GB" "up MiB" "down MB/s" "down CPU s/GB" "down MiB"
declare -A res
for tool in "${tools[@]}"; do
  for dir in up down; do
    res[$tool.$dir.mbs]=$(median "$tool.$dir" "$mib * 1.048576 / \$1")
    res[$tool.$dir.cpu]=$(median "$tool.$dir" "(\$2 + \$3) / $gb")
    res[$tool.$dir.mem]=$(median "$tool.$dir" "\$4 / 1024")
  done
  printf "%-11s %9.0f %12.2f %10.0f %9.0f %12.2f %10.0f\n" "$tool" "${res[$tool.up.mbs]}" "${res[$tool.up.cpu]}" \
    "${res[$tool.up.mem]}" "${res[$tool.down.mbs]}" "${res[$tool.down.cpu]}" "${res[$tool.down.mem]}"
done
echo
for peer in aws rclone; do
  for dir in up down; do
    awk -v a="${res[rockstream.$dir.mbs]}" -v b="${res[$peer.$dir.mbs]}" -v c="${res[rockstream.$dir.cpu]}" \
      -v d="${res[$peer.$dir.cpu]}" -v p="$peer" -v dir="$dir" \
      'BEGIN {printf "rockstream/%s %-4s speed %.2fx, CPU per GB %.2fx\n", p, dir, a / b, c / d}'
  done
done

snap_mib=${SNAPSHOT_MIB:-1024}
((snap_mib > 0)) || exit 0
echo >&2
echo "loading a database of about $snap_mib MiB..." >&2
# incompressible values: the database is its size on disk, the archive too
"$rs" load --db "$tmp/db" --create --keys $((snap_mib * 1000)) --value-size 1000 --compressibility 0 \
  --threads 2 >/dev/null
"$rs" keygen --out "$tmp/k.key" >/dev/null
db_mib=$(du -sm "$tmp/db" | cut -f1)
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < 2; i++)); do
    case $(((i + r) % 2)) in
    0)
      echo "round $((r + 1)): snapshot --out s3://" >&2
      timed snap.url "$rs" snapshot --db "$tmp/db" --out "$remote/snap-$r.rsa" --key "$tmp/k.key" \
        --s3-endpoint "$RS_S3_ENDPOINT"
      /usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3 rm --recursive "$remote/" --only-show-errors
      ;;
    1)
      echo "round $((r + 1)): snapshot --out FILE, then aws s3 cp" >&2
      rm -f "$tmp/snap.rsa" "$tmp/snap.rsa.manifest"
      cat >"$tmp/two-steps.sh" <<EOS
set -e
"$rs" snapshot --db "$tmp/db" --out "$tmp/snap.rsa" --key "$tmp/k.key"
/usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3 cp "$tmp/snap.rsa" "$remote/file-$r.rsa" --only-show-errors
/usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3 cp "$tmp/snap.rsa.manifest" "$remote/file-$r.rsa.manifest" --only-show-errors
EOS
      timed snap.file bash "$tmp/two-steps.sh"
      # radosgw keeps objects in memory (memstore): none left between runs
      /usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3 rm --recursive "$remote/" --only-show-errors
      ;;
    esac
  done
done
url_s=$(median snap.url '$1')
file_s=$(median snap.file '$1')
printf "\nsnapshot of a %s MiB database, %d rounds, medians\n" "$db_mib" "$rounds"
printf "  snapshot --out s3://                    %6.1f s (CPU %.1f s, peak %.0f MiB)\n" "$url_s" \
  "$(median snap.url '$2 + $3')" "$(median snap.url '$4 / 1024')"
printf "  snapshot --out FILE, then aws s3 cp     %6.1f s\n" "$file_s"
awk -v a="$url_s" -v b="$file_s" 'BEGIN {printf "  ratio                                   %6.2fx (target <= 0.6)\n", a / b}'
