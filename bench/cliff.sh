#!/usr/bin/env bash
# The JIT-cliff check of the vector codec: RUNS (30) fresh JVMs in a row, each running the quick
# bench (`narvault bench codec --vector-only`) over the same cells in a different order (seeded
# shuffle), so that the kernel's loops are first met, and compiled, in a different order each
# time. Fails (exit 1) when any cell in any run is below half that cell's median over all runs.
#
#   bench/cliff.sh [extra JVM options...]     e.g. bench/cliff.sh -XX:UseAVX=2
#
# Environment: RUNS (30), CODES (10+4,20+10,6+3), SIZES (64KiB,1MiB), ROUNDS (5), ROUND_MS (60),
# OUT (raw results, default bench/target/cliff.tsv). A JVM's compile log can be had with
# bench/cliff.sh -XX:+PrintCompilation (it goes to bench/target/cliff-N.log with the run's output).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
codes=${CODES:-10+4,20+10,6+3}
sizes=${SIZES:-64KiB,1MiB}
rounds=${ROUNDS:-5}
round_ms=${ROUND_MS:-60}
raw=${OUT:-$here/bench/target/cliff.tsv}
mkdir -p "$here/bench/target" "$(dirname "$raw")"
: > "$raw"
for run in $(seq 1 "$runs"); do
  log=$here/bench/target/cliff-$run.log
  NARVAULT_JAVA_OPTS="$*" "$here/narvault" bench codec --vector-only --tsv --shuffle "$run" --codes "$codes" --fragment-size "$sizes" \
    --operations encode,decode-1,decode-m --rounds "$rounds" --round-millis "$round_ms" > "$log" 2>&1
  grep -E '^vector' "$log" | awk -v r="$run" -F'\t' 'BEGIN{OFS="\t"} {print r, $2 "+" $3, $4, $5, $6}' >> "$raw"
  kernel=$(grep -m1 '^# kernel' "$log" | cut -f2,3)
  echo "run $run/$runs: $kernel" >&2
done
awk -F'\t' -v runs="$runs" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { cell = "RS(" $2 ") " $3 " " $4; values[cell] = values[cell] " " $5; if (!(cell in low) || $5 + 0 < low[cell]) { low[cell] = $5 + 0; lowRun[cell] = $1 } }
  END {
    printf "%-28s %10s %10s %8s %s\n", "cell", "median", "lowest", "ratio", "(run)"
    failed = 0; worst = 1e9
    for (cell in values) {
      m = median(values[cell]); ratio = low[cell] / m
      if (ratio < worst) worst = ratio
      flag = ratio < 0.5 ? "  << below half the median" : ""
      if (ratio < 0.5) failed = 1
      printf "%-28s %10.0f %10.0f %7.2f  (run %s)%s\n", cell, m, low[cell], ratio, lowRun[cell], flag
    }
    printf "\n%d runs; lowest run / median over all cells: %.2f; %s\n", runs, worst, failed ? "CLIFF: some run fell below half the median" : "no run below half the median"
    exit failed
  }' "$raw"
