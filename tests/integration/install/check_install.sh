#!/usr/bin/env bash
# Installs this build tree into a scratch prefix with `cmake --install`, then builds and runs
# outside projects against it as a user would (build_consumers.sh: find_package and pkg-config).
#   check_install.sh BUILD_DIR VERSION
set -euo pipefail
build_dir=$1 version=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
"$(dirname "$0")/build_consumers.sh" "$scratch/prefix" "$scratch" "$version"
