#!/usr/bin/env bash
# Static checks, fast (seconds): every checker runs, and the script exits
# non-zero if any of them found something, saying how to fix it. One section
# per checker; npm test runs this right after setup.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()

# check NAME HINT COMMAND...: runs COMMAND; on failure records NAME and HINT.
check() {
  local name=$1 hint=$2
  shift 2
  echo "edgesync lint: $name"
  if ! "$@"; then
    failed+=("$name: $hint")
  fi
}

# --- JavaScript: ESLint (eslint.config.mjs) over hosts, tools, tests, bench, demo, fuzz.
check eslint "run 'npx eslint --fix .' for the fixable findings, then fix the rest by hand" \
  npx --no-install eslint --max-warnings 0 .

# --- TypeScript: the hand-written declarations (types/*.d.ts) and a typed usage
# file importing them by package name (tests/types/tsconfig.json: strict, noEmit).
check tsc "fix types/*.d.ts to match the JS in hosts/ (or tests/types/usage.ts to match the README); re-run 'npx tsc -p tests/types'" \
  npx --no-install tsc -p tests/types

# --- TypeScript: the Drizzle schema fixtures against edgesync/drizzle's types
# (tests/types/tsconfig.drizzle.json; skipLibCheck for drizzle-orm's own .d.ts).
check tsc-drizzle "fix types/drizzle.d.ts or tests/fixtures/drizzle/*.ts; re-run 'npx tsc -p tests/types/tsconfig.drizzle.json'" \
  npx --no-install tsc -p tests/types/tsconfig.drizzle.json

# --- TypeScript: every ```ts/```js block of README.md and docs/*.md, as an app
# would compile it (tsc --strict; tools/check-doc-snippets.mjs).
check doc-snippets "fix the code block (or types/*.d.ts) at the line shown; the blocks are kept in tests/.doc-snippets/" \
  node tools/check-doc-snippets.mjs

# --- C++: clang-format (.clang-format) on every C++ file. clang-tidy needs the
# native build's compile commands, so npm test runs it after the build
# (scripts/check-cpp.sh tidy).
check clang-format "run: clang-format -i \$(git ls-files '*.cpp' '*.h')" \
  bash scripts/check-cpp.sh format

if ((${#failed[@]})); then
  echo "edgesync lint: FAILED" >&2
  for f in "${failed[@]}"; do echo "  - $f" >&2; done
  exit 1
fi
echo "edgesync lint: clean"
