#!/usr/bin/env bash
# An application builds against an installed librockstream, both ways
# docs/embedding.md shows: a compiler line from pkg-config, and a CMake
# project with pkg_check_modules. The build is installed into a temporary
# prefix; the programs built there run and find the installed library.
#   test_install.sh BUILD_DIR SOURCE_DIR C_COMPILER "SANITIZER_FLAGS"
set -euo pipefail
build=$1 src=$2 cc=$3 san=${4:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/rs-install-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$T/prefix" >"$T/install.log"
pc=$(find "$T/prefix" -name rockstream.pc)
[[ -n "$pc" ]] || fail "no rockstream.pc installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
[[ -f "$T/prefix/include/rockstream/store/store.h" ]] || fail "store/store.h not installed"
[[ ! -e "$T/prefix/include/rockstream/store/store_int.h" ]] || fail "a private header was installed"
libdir=$(pkg-config --variable=libdir rockstream)
[[ -e "$libdir/librockstream.so.0" ]] || fail "librockstream.so.0 not under $libdir"

# 1. a compiler line (the build's compiler and sanitizer flags only because
# an instrumented library needs the same runtime)
# shellcheck disable=SC2086
"$cc" $san -o "$T/embed_store" "$src/examples/embed_store.c" $(pkg-config --cflags --libs rockstream) \
   -Wl,-rpath,"$libdir"
[[ $(ldd "$T/embed_store") == *"$libdir/librockstream.so.0"* ]] || fail "embed_store did not link the installed library"
out=$("$T/embed_store" "$T/db")
[[ "$out" == *"account:2 holds balance=300"* ]] || fail "embed_store: $out"

# 2. a CMake project
cmake -S "$src/tests/api/consumer" -B "$T/consumer" -DCMAKE_C_COMPILER="$cc" -DEXAMPLE_SOURCE="$src/examples/embed_backup.c" \
      -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_BUILD_RPATH="$libdir" >"$T/consumer.log"
cmake --build "$T/consumer" >>"$T/consumer.log" || { cat "$T/consumer.log"; fail "the CMake project did not build"; }
out=$("$T/consumer/backup_app" "$T/backup")
[[ "$out" == *"restored copy: invoice:00042"* ]] || fail "backup_app: $out"
echo "ok: installed under a prefix; built with pkg-config and with CMake"
