#!/usr/bin/env bash
# The main job: builds what changed and starts the local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh start
bash scripts/build.sh wasm
node demo/build.mjs --if-stale   # the demo PWA served at /
exec node hosts/node/main.mjs "$@"
