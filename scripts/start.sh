#!/usr/bin/env bash
# The main job: builds what changed and starts the local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh start
bash scripts/build.sh wasm
exec node wasm-glue/js/server/main.mjs "$@"
