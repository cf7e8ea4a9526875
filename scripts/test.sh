#!/usr/bin/env bash
# Runs every test: GoogleTest suites (native core), then the node tests of the
# WASM build against real SQLite-WASM, PostgreSQL 15, pgbouncer and workerd,
# then the browser end-to-end tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/build.sh all

echo "edgesync: GoogleTest suites"
ctest --test-dir build/native --output-on-failure -j "$(nproc)"

echo "edgesync: node tests (WASM build)"
node --test --test-concurrency=1 --test-reporter=spec tests/node/

echo "edgesync: browser end-to-end tests (headless Chromium, demo/dist)"
node demo/build.mjs --if-stale
node --test --test-concurrency=1 --test-reporter=spec tests/browser/
