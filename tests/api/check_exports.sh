#!/usr/bin/env bash
# librockstream.so exports exactly the public API: every defined dynamic
# symbol is an rs_* name declared RS_API in a public header, and every
# RS_API declaration is exported. A header outside the public list may not
# use RS_API (it would export something no installed header declares).
#   check_exports.sh LIBRARY SOURCE_DIR PUBLIC_HEADER...
set -euo pipefail
lib=$1 src=$2
shift 2
fail() { echo "FAIL: $*" >&2; exit 1; }

# the name each RS_API line declares: the identifier before its ( or ;
declared() {
  grep -hE '^(extern )?RS_API ' "$@" | sed -E 's/^([^(;]*[^A-Za-z0-9_(;])?([A-Za-z_][A-Za-z0-9_]*) *[(;].*/\2/' | sort -u
}

public=()
for h in "$@"; do public+=("$src/$h"); done
want=$(declared "${public[@]}")
[[ -n "$want" ]] || fail "no RS_API declarations found in: $*"
got=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort -u)

bad=$(grep -v '^rs_' <<<"$got" || true)
[[ -z "$bad" ]] || fail "exported names outside the rs_ namespace: $(tr '\n' ' ' <<<"$bad")"
extra=$(comm -13 <(echo "$want") <(echo "$got"))
[[ -z "$extra" ]] || fail "exported but declared RS_API in no public header: $(tr '\n' ' ' <<<"$extra")"
missing=$(comm -23 <(echo "$want") <(echo "$got"))
[[ -z "$missing" ]] || fail "declared RS_API but not exported (not defined?): $(tr '\n' ' ' <<<"$missing")"

strays=()
while IFS= read -r h; do
  rel=${h#"$src"/}
  [[ " $* " == *" $rel "* ]] && continue
  grep -qE '^(extern )?RS_API ' "$h" && strays+=("$rel")
done < <(find "$src" -path "$src/build" -prune -o -name '*.h' -print)
[[ ${#strays[@]} -eq 0 ]] || fail "RS_API in headers not listed in RS_PUBLIC_HEADERS (CMakeLists.txt): ${strays[*]}"

echo "ok: $(wc -l <<<"$got") exported names, all rs_*, exactly the RS_API declarations of $# public headers"
