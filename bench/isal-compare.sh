#!/usr/bin/env bash
# narvault's vector codec against native ISA-L (Debian's libisal), tier by tier, on this machine,
# in one run: builds bench/isal/isal_bench.c against libisal-dev (installing gcc and libisal-dev
# with apt-get when missing), then alternates ISA-L and narvault JVMs for every tier the CPU has
# and prints a markdown table of medians and ratios (for docs/performance.md).
#
#   bench/isal-compare.sh            tiers: avx512 and avx2 on x86 (as the CPU allows), auto elsewhere
#
# Tiers: ISA-L's exported functions ec_encode_data_avx512 / _avx2 (ec_encode_data, its own
# dispatch, for "auto"); narvault runs its default kernel with the JVM held to the same
# instructions (-XX:UseAVX=2 for avx2), plus the other kernels it could have chosen, so the choice
# is shown measured. Environment: CODES (default "10+4 20+10"), SIZES ("1048576 65536"),
# OPERATIONS ("encode decode-m"), ROUNDS (5), ROUND_MS (100), PASSES (2), ALTERNATIVES (1; 0 runs
# only the default kernels), OUT (raw results, default bench/target/isal-compare.tsv).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
codes=${CODES:-"10+4 20+10"}
sizes=${SIZES:-"1048576 65536"}
operations=${OPERATIONS:-"encode decode-m"}
rounds=${ROUNDS:-5}
round_ms=${ROUND_MS:-100}
passes=${PASSES:-2}
alternatives=${ALTERNATIVES:-1}
raw=${OUT:-$here/bench/target/isal-compare.tsv}

if [ ! -f /usr/include/isa-l/erasure_code.h ] || ! command -v gcc >/dev/null; then
  echo "installing gcc and libisal-dev..." >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -q gcc libisal-dev >/dev/null || {
    $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q gcc libisal-dev >/dev/null
  }
fi
mkdir -p "$here/bench/target" "$(dirname "$raw")"
harness=$here/bench/target/isal_bench
gcc -O2 -Wall -o "$harness" "$here/bench/isal/isal_bench.c" -lisal
isal_version=$(dpkg-query -W -f '${Version}' libisal2 2>/dev/null || echo unknown)

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
tiers=()
if has avx512f && has avx512bw && has avx512vl; then tiers+=(avx512); fi
if has avx2; then tiers+=(avx2); fi
[ ${#tiers[@]} -eq 0 ] && tiers=(auto)

# The JVM options of narvault's kernels per tier: the default first, then the alternatives.
variants() {
  local jvm=""
  [ "$1" = avx2 ] && jvm="-XX:UseAVX=2"
  echo "$jvm"
  if [ "$alternatives" = 1 ]; then
    case "$1" in
      avx512) echo "-Dnarvault.codec.pairs=false"; echo "-Dnarvault.codec.vector-bits=256 -Dnarvault.codec.pairs=true"
              echo "-Dnarvault.codec.vector-bits=128 -Dnarvault.codec.pairs=true"; echo "-Dnarvault.codec.vector-bits=128" ;;
      avx2)   echo "$jvm -Dnarvault.codec.vector-bits=256"; echo "$jvm -Dnarvault.codec.pairs=true" ;;
      *)      echo "-Dnarvault.codec.pairs=true" ;;
    esac
  fi
}

cells=()
for code in $codes; do for size in $sizes; do for op in $operations; do cells+=("$code:$size:$op"); done; done; done
sizes_csv=$(echo $sizes | tr ' ' ','); codes_csv=$(echo $codes | tr ' ' ','); ops_csv=$(echo $operations | tr ' ' ',')

: > "$raw"
for pass in $(seq 1 "$passes"); do
  for tier in "${tiers[@]}"; do
    echo "pass $pass/$passes, tier $tier: ISA-L" >&2
    "$harness" "$tier" "$rounds" "$round_ms" "${cells[@]}" | awk -v p="$pass" -v t="$tier" -F'\t' \
      'BEGIN{OFS="\t"} {print p, t, "ISA-L", $2, $3, $4, $5, $6}' >> "$raw"
    v=0
    while IFS= read -r opts; do
      echo "pass $pass/$passes, tier $tier: narvault ${opts:-(default)}" >&2
      NARVAULT_JAVA_OPTS="$opts" "$here/narvault" bench codec --vector-only --tsv --codes "$codes_csv" --fragment-size "$sizes_csv" \
        --operations "$ops_csv" --rounds "$rounds" --round-millis "$round_ms" 2>/dev/null |
        awk -v p="$pass" -v t="$tier" -v v="$v" -F'\t' 'BEGIN{OFS="\t"}
          /^# kernel/ {kernel=$2; next} /^#/ {next}
          {print p, t, "narvault " v ": " kernel, $2, $3, $4, $5, $6}' >> "$raw"
      v=$((v + 1))
    done < <(variants "$tier")
  done
done

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; ISA-L $isal_version;" \
  "JDK $("$here/narvault" bench codec --codes 2+1 --fragment-size 64 --operations encode --vector-only --tsv \
    --rounds 1 --round-millis 1 2>/dev/null | awk -F'\t' '/^# kernel/ {print $4}')"
echo "MB/s of data bytes (k fragments per call), median over $passes passes of medians of $rounds rounds of $round_ms ms."
echo "ratio = narvault's default kernel / ISA-L; other kernels as a ratio to ISA-L too."
# Median over passes per (tier, codec, cell), then one row per (tier, cell).
awk -F'\t' '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    id = $4 "+" $5 SUBSEP $6 SUBSEP $7; key = $2 SUBSEP $3 SUBSEP id
    values[key] = values[key] " " $8
    if (!(($2 SUBSEP id) in seenCell)) { seenCell[$2 SUBSEP id] = 1; cells[$2] = cells[$2] SUBSEP id; }
    if (!(($2 SUBSEP $3) in seenCodec)) { seenCodec[$2 SUBSEP $3] = 1; codecs[$2] = codecs[$2] SUBSEP $3; }
    if (!($2 in seenTier)) { seenTier[$2] = 1; tiers[++nt] = $2 }
  }
  function kernel(name) { sub(/^narvault [0-9]+: /, "", name); return name }
  END {
    for (t = 1; t <= nt; t++) {
      tier = tiers[t]; nc = split(substr(codecs[tier], 2), codec, SUBSEP)
      printf "\n### tier %s\n\n", tier
      for (c = 3; c <= nc; c++) printf "- alternative %d: %s\n", c - 2, kernel(codec[c])
      printf "\n| code | fragment | operation | ISA-L MB/s | narvault MB/s | ratio |"
      for (c = 3; c <= nc; c++) printf " alt. %d |", c - 2
      printf "\n|---|---|---|---:|---:|---:|"
      for (c = 3; c <= nc; c++) printf "---:|"
      printf "\n"
      nk = split(substr(cells[tier], 2), cell, SUBSEP)
      for (i = 1; i <= nk; i += 3) {
        id = cell[i] SUBSEP cell[i + 1] SUBSEP cell[i + 2]
        isal = median(values[tier SUBSEP "ISA-L" SUBSEP id]); nv = median(values[tier SUBSEP codec[2] SUBSEP id])
        split(cell[i], km, "+"); size = cell[i + 1] >= 1048576 ? cell[i + 1] / 1048576 " MiB" : cell[i + 1] / 1024 " KiB"
        printf "| RS(%s,%s) | %s | %s | %.0f | %.0f | %.2f× |", km[1], km[2], size, cell[i + 2], isal, nv, nv / isal
        for (c = 3; c <= nc; c++) printf " %.2f× |", median(values[tier SUBSEP codec[c] SUBSEP id]) / isal
        printf "\n"
      }
      printf "\nnarvault default kernel: %s\n", kernel(codec[2])
    }
  }' "$raw"
