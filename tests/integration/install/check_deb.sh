#!/usr/bin/env bash
# Makes the Debian package of this build tree (`cpack -G DEB`), checks its control fields, unpacks
# it into a scratch root with `dpkg -x` (nothing is installed on this machine), and builds and
# runs outside projects against that root as a user would (build_consumers.sh).
#   check_deb.sh BUILD_DIR VERSION
set -euo pipefail
build_dir=$1 version=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "check_deb: $*" >&2; exit 1; }

if ! cpack -G DEB -B "$scratch/package" --config "$build_dir/CPackConfig.cmake" \
     >"$scratch/cpack.log" 2>&1; then
  cat "$scratch/cpack.log" >&2
  fail "cpack -G DEB failed"
fi
debs=("$scratch"/package/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one .deb, found: ${debs[*]}"
deb=${debs[0]}
dpkg-deb --info "$deb"

[ "$(dpkg-deb --field "$deb" Package)" = hilo ] || fail "the package is not named hilo"
[ "$(dpkg-deb --field "$deb" Version)" = "$version" ] || fail "the package's version is not $version"
# Depends, one package name a line, versions and alternatives' spaces dropped.
depends=$(dpkg-deb --field "$deb" Depends | tr ',|' '\n\n' | sed 's/(.*)//; s/ //g')
# The -dev packages the installed headers and libhilo.a need, and (from dpkg-shlibdeps) the C
# library hilorun links.
for needed in libopenmpi-dev libboost-serialization-dev libc6; do
  grep -qxF "$needed" <<<"$depends" || fail "Depends does not name $needed"
done

dpkg -x "$deb" "$scratch/root"
[ -f "$scratch/root/usr/include/hilo/version.hpp" ] || fail "no hilo/version.hpp in the package"
if find "$scratch/root" -name '*.in' | grep -q .; then fail "the package holds template files"; fi
"$(dirname "$0")/build_consumers.sh" "$scratch/root/usr" "$scratch" "$version"
echo "check_deb: OK"
