#!/usr/bin/env bash
# The incident and durability suites on the real Temporal server on PostgreSQL: `npm run test:temporal-postgres`
# (docs/operations.md, "Which Temporal server"). CI runs the whole suite on the default dev server only, since running
# it on both would double CI's time; this brings the stack up with METASYNC_TEMPORAL_SERVER=postgres and runs the
# incident suites (test/integration/incidents*.test.ts) on that server, or the test files given as arguments (a suite
# that needs more of the stack, e.g. Spark, wants `bash stack/up.sh` first).
# A dev server still holding the port stops it with a message naming `bash stack/down.sh temporal`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export METASYNC_TEMPORAL_SERVER=postgres
bash stack/node-deps.sh
# The services the incident suites use (Spark, MariaDB, Zipkin and Prometheus are not needed for them).
bash stack/up.sh secrets postgres temporal kafka cassandra s3
npm run -s migrate
# The suites run their own workers and bridges in-process: this checkout's apps would take their tasks.
bash stack/down.sh subscribers bridge worker
# The tests reach the server stack/up.sh started, on whatever ports it was given (stack/services/temporal.sh).
export METASYNC_TEMPORAL_ADDRESS="127.0.0.1:${TEMPORAL_PORT:-7233}" METASYNC_TEMPORAL_UI_URL="http://127.0.0.1:${TEMPORAL_UI_PORT:-8233}"
if [ $# -eq 0 ]; then set -- test/integration/incidents*.test.ts; fi
exec node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout --test-concurrency=1 \
  --test-timeout=600000 "$@"
