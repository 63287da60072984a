#!/usr/bin/env bash
# Installs the Debian 12 packages rockstream needs, skipping those present.
#   scripts/deps.sh build   what building and running rockstream needs
#   scripts/deps.sh test    plus what the tests and benchmarks start
# Runs apt-get as root (directly, or through sudo when not root).
set -euo pipefail

build_pkgs=(
  gcc
  make
  cmake
  pkg-config
  librocksdb-dev
  libzstd-dev
  libsodium-dev
  libarchive-dev
  libcurl4-openssl-dev
  libxxhash-dev
  libjansson-dev
  libexpat1-dev
  libinih-dev
  libmicrohttpd-dev
  libssl-dev
  redis-tools
)
test_pkgs=(
  libcmocka-dev
  clang
  libclang-rt-14-dev
  zstd
  redis-server
  procps
  psmisc
  python3-nacl
  python3-redis
  openssl
  doxygen
)

want=("${build_pkgs[@]}")
if [[ "${1:-build}" == "test" ]]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
