#!/usr/bin/env bash
# C++ style gate (run by npm test): clang-format on every C++ file, then
# clang-tidy on the core with zero findings. `format` or `tidy` runs one.
# Needs build/native/compile_commands.json for tidy (scripts/build.sh native).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
mapfile -t all_files < <(git ls-files '*.cpp' '*.h')

if [[ $what == all || $what == format ]]; then
  echo "edgesync: clang-format (${#all_files[@]} files)"
  if ! clang-format --dry-run --Werror "${all_files[@]}" 2>/tmp/edgesync-format.$$; then
    grep -E ': (warning|error): ' /tmp/edgesync-format.$$ | cut -d: -f1 | sort -u | sed 's/^/  not formatted: /' >&2
    rm -f /tmp/edgesync-format.$$
    echo "edgesync: fix with: clang-format -i \$(git ls-files '*.cpp' '*.h')" >&2
    exit 1
  fi
  rm -f /tmp/edgesync-format.$$
fi

if [[ $what == all || $what == tidy ]]; then
  [[ -f build/native/compile_commands.json ]] ||
    { echo "edgesync: run bash scripts/build.sh native first (tidy needs build/native)" >&2; exit 1; }
  mapfile -t core_sources < <(git ls-files 'core/*.cpp')
  echo "edgesync: clang-tidy (${#core_sources[@]} core sources and their headers)"
  out=$(printf '%s\n' "${core_sources[@]}" |
    xargs -P "$(nproc)" -n 2 clang-tidy -p build/native --quiet 2>/dev/null || true)
  findings=$(grep -E ': (warning|error): ' <<<"$out" | sort -u || true)
  if [[ -n $findings ]]; then
    echo "$out" >&2
    echo "edgesync: $(wc -l <<<"$findings") clang-tidy finding(s) above; fix them (the rules are in .clang-tidy)" >&2
    exit 1
  fi
fi
