#!/usr/bin/env bash
# Fuzzes every parser that takes outside bytes, 60 s each (the @FuzzTest maxDuration), one JVM
# per parser:
#   core:              ParserFuzzTest (narinfo, manifest, orders, Range, audits, coordinator
#                      messages, holder messages, store paths, compressed NARs, request logs)
#   holder-node:       HolderRouteTest#route   (the holder's URL routing)
#   retrieval-gateway: GatewayRouteTest#route  (the gateway's URL routing)
#   bench/fuzz.sh [name ...]     names: a ParserFuzzTest method, holderRoute or gatewayRoute
# Findings (inputs that broke a parser) are written by Jazzer next to the seeds, under
# <module>/src/test/resources/.../<Test>Inputs/<method>/, so that every later `./mvnw verify`
# replays them; fix the parser, keep the input (renamed to say what it is).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(narInfo manifest order range auditChallenge coordinatorMessages holderMessages storePath compressedNar requestLog
    holderRoute gatewayRoute)
fi
if [ -z "${JAVA_HOME:-}" ]; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk*; do
    [ -x "$candidate/bin/java" ] && { export JAVA_HOME="$candidate"; break; }
  done
fi
cd "$here"
./mvnw -B -q -o install -DskipTests >/dev/null 2>&1 || ./mvnw -B -q install -DskipTests
status=0
for name in "${names[@]}"; do
  case "$name" in
    holderRoute) module=holder-node test="HolderRouteTest#route" ;;
    gatewayRoute) module=retrieval-gateway test="GatewayRouteTest#route" ;;
    *) module=core test="ParserFuzzTest#$name" ;;
  esac
  echo "== fuzzing $name"
  if ! JAZZER_FUZZ=1 ./mvnw -B -q -o test -pl "$module" -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false; then
    echo "!! $name: a finding (see above and the Inputs directory)"
    status=1
  fi
done
exit $status
