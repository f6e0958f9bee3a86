#!/usr/bin/env bash
# Serve the Conduit API on 127.0.0.1:$PORT (default 8000) against $ORM_PG_URL (default the
# local orm_realworld database, created when missing), after running the pending migrations.
#   bash examples/realworld/run.sh            # then: curl http://127.0.0.1:8000/api/tags
set -euo pipefail
cd "$(dirname "$0")"

export ORM_PG_URL="${ORM_PG_URL:-postgresql://postgres@127.0.0.1:5432/orm_realworld}"
PORT="${PORT:-8000}"

# Create the database when missing, through the server's maintenance database.
database="${ORM_PG_URL##*/}"
database="${database%%\?*}"
server="${ORM_PG_URL%/*}"
if ! psql "$server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    echo "creating database $database"
    psql "$server/postgres" -qc "CREATE DATABASE \"$database\""
fi

ORM_CONFIG=conduit.settings:config uv run orm migration:up
exec uv run uvicorn conduit.app:app --host 127.0.0.1 --port "$PORT" --no-access-log
