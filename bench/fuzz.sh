#!/usr/bin/env bash
# Fuzzes every parser that takes outside bytes (core's ParserFuzzTest), 60 s each (the
# @FuzzTest maxDuration), one JVM per parser.
#   bench/fuzz.sh [method ...]
# Findings (inputs that broke a parser) are written by Jazzer next to the seeds, under
# core/src/test/resources/dev/narvault/core/fuzz/ParserFuzzTestInputs/<method>/, so that every
# later `./mvnw verify` replays them; fix the parser, keep the input.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
methods=("$@")
if [ ${#methods[@]} -eq 0 ]; then
  methods=(narInfo manifest order range auditChallenge coordinatorMessages storePath compressedNar)
fi
if [ -z "${JAVA_HOME:-}" ]; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk*; do
    [ -x "$candidate/bin/java" ] && { export JAVA_HOME="$candidate"; break; }
  done
fi
cd "$here"
./mvnw -B -q -o install -DskipTests -pl core -am >/dev/null 2>&1 || ./mvnw -B -q install -DskipTests -pl core -am
status=0
for m in "${methods[@]}"; do
  echo "== fuzzing $m"
  if ! JAZZER_FUZZ=1 ./mvnw -B -q -o test -pl core -Dtest="ParserFuzzTest#$m" \
      -Dsurefire.failIfNoSpecifiedTests=false; then
    echo "!! $m: a finding (see above and the Inputs directory)"
    status=1
  fi
done
exit $status
