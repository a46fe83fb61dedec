#!/usr/bin/env bash
# Builds raylib 5.5 as a shared library into a cache folder outside the repository, where the desktop viewer finds it
# (docs/viewer.md, "Installing raylib"), unless that build is already there. Prints the library's path on its last line.
#
#   bash build/raylib.sh                 # source: $RAYLIB_SOURCE, else ../shared/raylib-5.5 beside the repository
#   RAYLIB_SOURCE=~/src/raylib bash build/raylib.sh
#
# Output: ${RLMEMORY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rlmemory}/raylib-5.5/libraylib.so (and its versioned names).
# Needs cmake, a C compiler and X11/OpenGL headers (Debian: cmake gcc libc6-dev libx11-dev libxrandr-dev
# libxinerama-dev libxcursor-dev libxi-dev libgl1-mesa-dev); .ci/run installs them.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${RLMEMORY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rlmemory}"
out="$cache/raylib-5.5"
library="$out/libraylib.so"

if [ -f "$library" ] && [ -f "$out/.complete" ]; then
  echo "raylib 5.5 is already built."
  echo "$library"
  exit 0
fi

source_dir="${RAYLIB_SOURCE:-$repo/../shared/raylib-5.5}"
if [ ! -f "$source_dir/src/raylib.h" ]; then
  echo "error: no raylib source at $source_dir (expected src/raylib.h). Set RAYLIB_SOURCE to a raylib 5.5 checkout" >&2
  echo "       (git clone --depth 1 --branch 5.5 https://github.com/raysan5/raylib), or install raylib another way (docs/viewer.md)." >&2
  exit 1
fi
version="$(sed -n 's/^#define RAYLIB_VERSION  *"\([0-9.]*\)".*/\1/p' "$source_dir/src/raylib.h")"
case "$version" in
  5.5*) ;;
  *) echo "error: $source_dir holds raylib ${version:-of unknown version}; this script builds 5.5 (the version the viewer is tested with)." >&2; exit 1 ;;
esac

for tool in cmake cc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found; on Debian: apt-get install cmake gcc libc6-dev libx11-dev libxrandr-dev libxinerama-dev libxcursor-dev libxi-dev libgl1-mesa-dev" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/rlmemory-raylib-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "Building raylib $version from $source_dir into $out (about a minute)..."
cmake -S "$source_dir" -B "$work" -DBUILD_SHARED_LIBS=ON -DBUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Release \
  -DPLATFORM=Desktop -DCMAKE_INSTALL_PREFIX="$work/install" >"$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log" >&2; echo "error: cmake could not configure raylib (missing X11/OpenGL headers? see above)" >&2; exit 1; }
cmake --build "$work" -j"$(nproc)" >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; echo "error: raylib did not build (see above)" >&2; exit 1; }

mkdir -p "$out"
rm -f "$out"/libraylib.so* "$out/.complete"
cp -a "$work"/raylib/libraylib.so* "$out/"
touch "$out/.complete"
echo "$library"
