#!/usr/bin/env bash
# Builds the native core (+ GoogleTest suites) and the WASM modules.
# Incremental: re-running with nothing changed takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
# One build at a time per tree: concurrent makes in one build dir corrupt it.
mkdir -p build
exec 9>build/.lock
flock 9
# Debian's emscripten runs its JS optimizer with the machine's node, which
# needs Debian's node modules (acorn) on its path.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
# Use a private copy of Emscripten's cache when the system one is read-only.
if [[ -z ${EM_CACHE:-} && ! -w /usr/share/emscripten/cache ]]; then
  export EM_CACHE=$PWD/build/em-cache
  [[ -d $EM_CACHE/sysroot ]] || { mkdir -p "$EM_CACHE"; cp -r /usr/share/emscripten/cache/. "$EM_CACHE"/; }
fi

# Hides the progress chatter of make; errors and warnings still show.
quiet() { grep -vE '^\[ *[0-9]+%\] (Built|Linking|Building)|Consolidate|Scanning|Generating|^-- ' || true; }

what=${1:-all}
if [[ $what == all || $what == native ]]; then
  echo "edgesync: building native core and tests (build/native)"
  [[ -f build/native/CMakeCache.txt ]] || cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build/native -j "$JOBS" -- --no-print-directory 2>&1 | quiet ||
    { echo "edgesync: native build failed (see the errors above)" >&2; exit 1; }
fi
if [[ $what == all || $what == wasm ]]; then
  echo "edgesync: building WASM modules (build/wasm)"
  if [[ ! -f build/wasm/CMakeCache.txt ]]; then
    emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build/wasm -j "$JOBS" -- --no-print-directory 2>&1 | quiet ||
    { echo "edgesync: WASM build failed (see the errors above)" >&2; exit 1; }
  mkdir -p dist
  for f in build/wasm/core/*.mjs build/wasm/core/*.wasm; do
    cmp -s "$f" "dist/$(basename "$f")" || cp "$f" dist/
  done
  for f in dist/*.wasm; do
    echo "edgesync:   $(basename "$f"): $(stat -c %s "$f") bytes"
  done
fi
