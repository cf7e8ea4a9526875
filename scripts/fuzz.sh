#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/: clang-14, ASan + UBSan, build/fuzz),
# replays the committed crash inputs (fuzz/regressions/<target>/), then runs
# every target for FUZZ_SECONDS (default 60) and prints per target the
# executions, exec/s and coverage (libFuzzer's cov/ft). Exits non-zero on
# any crash; the input is saved under build/fuzz/crashes/<target>/.
#
#   scripts/fuzz.sh [--target NAME]... [--seconds N] [-- libFuzzer flags…]
#   scripts/fuzz.sh --target NAME --minimize CRASH_FILE
#
# Environment: FUZZ_SECONDS (per target), FUZZ_JOBS (targets run at once,
# default 1), JOBS (build parallelism, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(json_scanner validate_request schema_codegen control client_response)
SECONDS_EACH=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
JOBS=${JOBS:-$(nproc)}
targets=()
minimize=""
extra=()
while (($#)); do
  case $1 in
    --target) targets+=("$2"); shift 2 ;;
    --target=*) targets+=("${1#--target=}"); shift ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --minimize) minimize=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "edgesync fuzz: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] ||
    { echo "edgesync fuzz: no target \"$t\" (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

for tool in clang-14 clang++-14; do
  command -v $tool >/dev/null ||
    { echo "edgesync fuzz: $tool is missing; run: bash scripts/setup.sh test" >&2; exit 1; }
done

# ---- build (one build at a time in build/fuzz)
out=build/fuzz
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
echo "edgesync: building fuzz targets (build/fuzz: clang-14, ASan+UBSan)"
if [[ ! -f $out/CMakeCache.txt ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$out" -DEDGESYNC_FUZZ=ON >/dev/null
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
quiet() { grep -vE '^\[ *[0-9]+%\] (Built|Linking|Building)|Consolidate|Scanning|Generating|^-- ' || true; }
cmake --build "$out" -j "$JOBS" "${build_targets[@]}" -- --no-print-directory 2>&1 | quiet ||
  { echo "edgesync fuzz: build failed (see the errors above)" >&2; exit 1; }

bin() { echo "$out/fuzz/fuzz_$1"; }
dict_args() { [[ -f fuzz/dict/$1.dict ]] && echo "-dict=fuzz/dict/$1.dict" || true; }

# ---- minimize one crash input
if [[ -n $minimize ]]; then
  ((${#targets[@]} == 1)) || { echo "edgesync fuzz: --minimize needs one --target" >&2; exit 2; }
  t=${targets[0]}
  min="$minimize.min"
  "$(bin "$t")" -minimize_crash=1 -max_total_time="$SECONDS_EACH" \
    -exact_artifact_path="$min" "$minimize" "${extra[@]}" 2>&1 | tail -5 || true
  [[ -f $min ]] && echo "edgesync fuzz: minimized input: $min ($(stat -c %s "$min") bytes)"
  exit 0
fi

# ---- replay the committed crash inputs (they must pass now)
status=0
for t in "${targets[@]}"; do
  dir=fuzz/regressions/$t
  [[ -d $dir ]] && compgen -G "$dir/*" >/dev/null || continue
  if ! "$(bin "$t")" -runs=1 "$dir"/* >"$out/replay-$t.log" 2>&1; then
    echo "edgesync fuzz: $t fails on a committed regression input (build/fuzz/replay-$t.log):" >&2
    grep -E "Running:|property broken|ERROR|SUMMARY|runtime error" "$out/replay-$t.log" | head -8 >&2
    status=1
  fi
done

# ---- run
echo "edgesync: fuzzing ${#targets[@]} target(s) for ${SECONDS_EACH}s each, $FUZZ_JOBS at a time"
mkdir -p "$out/logs"
run_one() {
  local t=$1 work="$out/corpus/$t" crashes="$out/crashes/$t"
  mkdir -p "$work" "$crashes"
  # The first corpus directory receives new inputs; the committed seeds stay
  # as they are.
  "$(bin "$t")" "$work" "fuzz/corpus/$t" $(dict_args "$t") \
    -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$crashes/" "${extra[@]}" \
    >"$out/logs/$t.log" 2>&1
}
pids=()
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= FUZZ_JOBS)); do wait -n || true; done
  run_one "$t" &
  pids+=("$!")
done
codes=()
for p in "${pids[@]}"; do
  if wait "$p"; then codes+=(0); else codes+=($?); fi
done

# ---- report
printf '%-18s %12s %9s %7s %8s  %s\n' target executions exec/s cov ft result
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  log="$out/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  result=ok
  if ((codes[i] != 0)); then
    status=1
    artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    result="CRASH (exit ${codes[i]}): ${artifact:-see $log}"
  fi
  printf '%-18s %12s %9s %7s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" \
    "$(awk '{print $2}' <<<"$cov")" "$(awk '{print $4}' <<<"$cov")" "$result"
done
if ((status != 0)); then
  for i in "${!targets[@]}"; do
    ((codes[i] != 0)) || continue
    echo "--- ${targets[$i]} (build/fuzz/logs/${targets[$i]}.log):" >&2
    grep -E "property broken|^  |ERROR: |SUMMARY|runtime error|deadly signal" \
      "$out/logs/${targets[$i]}.log" | head -12 >&2
  done
  echo "edgesync fuzz: failed. Minimize a crash with: bash scripts/fuzz.sh --target T --minimize FILE;" >&2
  echo "  commit it under fuzz/regressions/T/ with a test in tests/unit/fuzz_regression_test.cpp" >&2
fi
exit $status
