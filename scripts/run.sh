#!/usr/bin/env bash
# Migrate, create the demo login and teams, then serve with Daphne (ops.serve) on the embedded defaults.
# Expects the virtualenv's python first on PATH (the Makefile does that).
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
python manage.py migrate --noinput
python manage.py setup_demo
python manage.py collectstatic --noinput -v0
echo "Agent Playground on http://${HOST}:${PORT}/  (Ctrl-C to stop)"
echo "Admin, scoped to the demo user's own runs and teams: http://${HOST}:${PORT}/admin/"
exec python -m ops.serve -b "$HOST" -p "$PORT" playground.asgi:application
