#!/usr/bin/env bash
# Builds and runs the outside consumer program against an installed hilo, the two ways a user
# would: consumer/ with CMake (find_package through CMAKE_PREFIX_PATH) run as 3 threads, and
# makefile_consumer/ with pkg-config (PKG_CONFIG_PATH) run as 2 processes under the installed
# hilorun. Both must report the expected version from library and headers alike.
#   build_consumers.sh PREFIX WORK_DIR VERSION
set -euo pipefail
prefix=$1 work=$2 version=$3
projects=$(cd "$(dirname "$0")" && pwd)
fail() { echo "build_consumers: $*" >&2; exit 1; }
# quietly LOG COMMAND...: runs the command, shows its log only if it fails.
quietly() {
  local log=$1; shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "failed: $*"; }
}
# expect OUTPUT LINE: the program's output must hold exactly this line.
expect() {
  printf '%s\n' "$1"
  grep -qxF -- "$2" <<<"$1" || fail "expected the line '$2'"
}

[ -x "$prefix/bin/hilorun" ] || fail "no hilorun in $prefix/bin"
pc_file=$(find "$prefix" -path '*/pkgconfig/hilo.pc' -print -quit)
[ -n "$pc_file" ] || fail "no pkgconfig/hilo.pc under $prefix"

quietly "$work/cmake.log" cmake -S "$projects/consumer" -B "$work/cmake" \
  -DCMAKE_PREFIX_PATH="$prefix"
quietly "$work/cmake.log" cmake --build "$work/cmake" -j2
expect "$(timeout 60 "$work/cmake/consumer" threads)" \
  "consumer: OK ranks=3 total=6 version=$version headers=$version"

mkdir -p "$work/make"
quietly "$work/make.log" env PKG_CONFIG_PATH="$(dirname "$pc_file")" \
  make -C "$work/make" -f "$projects/makefile_consumer/Makefile" \
  SOURCE="$projects/consumer/main.cpp"
expect "$(timeout 60 "$prefix/bin/hilorun" -n 2 "$work/make/consumer")" \
  "consumer: OK ranks=2 total=3 version=$version headers=$version"
echo "build_consumers: OK"
