#!/usr/bin/env bash
# Builds the native core (+ GoogleTest suites) and the WASM modules.
# Incremental: re-running with nothing changed takes a few seconds.
#   bash scripts/build.sh [all|native|wasm] [--if-stale]
# --if-stale (wasm only; `npm pack`'s prepack): keep dist/ as it is when all
# modules exist and are newer than every input of the WASM build, so a
# tree without build/ (or without emscripten) can pack what it already built.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=(dist/edgesync_client.mjs dist/edgesync_client.wasm dist/edgesync_core.mjs dist/edgesync_core.wasm
  dist/edgesync_server.mjs dist/edgesync_server.wasm)
if [[ ${1:-} == wasm && ${2:-} == --if-stale ]]; then
  fresh=1
  for f in "${DIST[@]}"; do
    if [[ ! -f $f ]] || [[ -n $(find core cmake CMakeLists.txt -newer "$f" -print -quit) ]]; then fresh=0; break; fi
  done
  if [[ $fresh == 1 ]]; then echo "edgesync: dist/ is up to date (${DIST[*]})"; exit 0; fi
fi
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
  for f in "${DIST[@]}"; do
    [[ -f $f ]] || { echo "edgesync: the WASM build did not produce $f" >&2; exit 1; }
    if [[ $f == *.wasm ]]; then echo "edgesync:   $(basename "$f"): $(stat -c %s "$f") bytes"; fi
  done
fi
