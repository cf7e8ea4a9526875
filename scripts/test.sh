#!/usr/bin/env bash
# Runs every test: the static checks (scripts/lint.sh), the build, clang-tidy
# on the core, the GoogleTest suites (native core), then the node tests of the
# WASM build against real SQLite-WASM, PostgreSQL 15, pgbouncer and workerd,
# then the browser end-to-end tests in headless Chromium, then a short run of
# every fuzz target (FUZZ_SMOKE_SECONDS each, default 30; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/lint.sh
bash scripts/build.sh all
bash scripts/check-cpp.sh tidy

echo "edgesync: GoogleTest suites"
ctest --test-dir build/native --output-on-failure -j "$(nproc)"

echo "edgesync: node tests (WASM build)"
node --test --test-concurrency=1 --test-reporter=spec tests/node/

echo "edgesync: browser end-to-end tests (headless Chromium, demo/dist)"
node demo/build.mjs --if-stale
node --test --test-concurrency=1 --test-reporter=spec tests/browser/

if [[ ${FUZZ_SMOKE_SECONDS:-30} != 0 ]]; then
  echo "edgesync: fuzz smoke (${FUZZ_SMOKE_SECONDS:-30} s per target)"
  FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-30} FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)} \
    bash scripts/fuzz.sh
fi
