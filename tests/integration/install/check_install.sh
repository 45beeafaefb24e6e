#!/usr/bin/env bash
# Installs this build tree into a scratch prefix, then builds and runs an outside project that
# uses find_package(hilo) and hilo::hilo, as a user would.
set -euo pipefail
build_dir=$1 source_dir=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$source_dir" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/build" -j2 >/dev/null
"$scratch/build/consumer"
