#!/usr/bin/env bash
# The whole suite, twice: embedded (SQLite, in-memory layer, inline executor) and
# services (PostgreSQL, channels_redis, Celery). `scripts/test.sh embedded|services`
# runs one pass. With CI=true a missing PostgreSQL or Redis fails the run; locally
# the services pass is skipped with a message saying how to start them.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-all}"
PYTEST_ARGS=("${@:2}")
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/playground}"
REDIS="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
status=0

clean_env() {
  env -u DATABASE_URL -u REDIS_URL -u RUN_EXECUTOR -u CHANNEL_LAYER_BACKEND -u SECRET_KEY -u DEBUG "$@"
}

if [[ "$MODE" == all || "$MODE" == embedded ]]; then
  echo "=== embedded pass: SQLite, in-memory channel layer, inline executor ==="
  clean_env python -m pytest -m "not services" "${PYTEST_ARGS[@]}" || status=1
fi

if [[ "$MODE" == all || "$MODE" == services ]]; then
  echo "=== services pass: PostgreSQL, Redis (channels_redis), Celery ==="
  if python scripts/check_services.py "$PG_URL" "$REDIS"; then
    clean_env DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" python -m pytest -m "not nodb" "${PYTEST_ARGS[@]}" || status=1
  elif [[ "${CI:-}" == "true" ]]; then
    echo "CI=true and a required service is down: failing." >&2
    status=1
  else
    echo "Skipping the services pass. Start them with:" >&2
    echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
    echo "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no" >&2
  fi
fi
exit $status
