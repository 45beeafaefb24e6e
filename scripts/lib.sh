# Shared by scripts/demo and scripts/test: where the project is, and how to configure and build it.
# Sourced, not run.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Open MPI refuses to run as root unless told; CI and containers run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# build_preset NAME [TARGET...]: configure (once) and build a CMake preset, quietly unless it fails.
build_preset() {
  local preset=$1; shift
  local log="$root/build/$preset.log"
  mkdir -p "$root/build"
  if ! { cmake --preset "$preset" -S "$root" >"$log" 2>&1 &&
         cmake --build "$root/build/$preset" -j "$jobs" ${1:+--target "$@"} >>"$log" 2>&1; }; then
    tail -n 60 "$log" >&2
    echo "build of preset '$preset' failed; full log: $log" >&2
    return 1
  fi
}
