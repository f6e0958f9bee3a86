#!/usr/bin/env bash
# Run the official RealWorld Postman collection against this app with newman (from npm):
# start the app on a fresh database, run every request of the collection, stop the app.
# Exits non-zero when any assertion failed (newman's exit code) or the app did not start.
#   bash examples/realworld/api-test.sh
set -euo pipefail
cd "$(dirname "$0")"

PG_SERVER_URL="${ORM_PG_URL:-postgresql://postgres@127.0.0.1:5432/orm_test}"
export ORM_PG_URL="${PG_SERVER_URL%/*}/orm_realworld_api${ORM_TEST_DB_SUFFIX:-}"
export PORT="${API_TEST_PORT:-8765}"
APIURL="http://127.0.0.1:$PORT/api"
# The collection registers USERNAME, then celeb_USERNAME (the official run-api-tests.sh picks
# the same defaults). Not read from USERNAME etc.: many shells set USERNAME to the login name.
USERNAME="${API_TEST_USERNAME:-u$(date +%s)}"
EMAIL="${API_TEST_EMAIL:-$USERNAME@mail.com}"
PASSWORD="${API_TEST_PASSWORD:-password}"

database="${ORM_PG_URL##*/}"
echo "==> fresh database $database"
psql "${ORM_PG_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)"
psql "${ORM_PG_URL%/*}/postgres" -qc "CREATE DATABASE \"$database\""

log="$(mktemp)"
echo "==> starting the app on $APIURL (log: $log)"
# A session of its own, so that stopping it stops uv and uvicorn together.
setsid bash run.sh >"$log" 2>&1 &
server=$!
stop_server() {
    kill -TERM -- "-$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

for _ in $(seq 1 120); do
    if curl -sf "$APIURL/tags" >/dev/null; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "the app exited before answering:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 1
done
if ! curl -sf "$APIURL/tags" >/dev/null; then
    echo "the app did not answer on $APIURL within 120 s:" >&2
    cat "$log" >&2
    exit 1
fi

echo "==> newman run Conduit.postman_collection.json"
status=0
npx --yes newman@6 run Conduit.postman_collection.json \
    --env-var "APIURL=$APIURL" \
    --env-var "USERNAME=$USERNAME" \
    --env-var "EMAIL=$EMAIL" \
    --env-var "PASSWORD=$PASSWORD" \
    --reporters cli || status=$?
if [ "$status" -ne 0 ]; then
    echo "==> newman failed (exit $status); the app's log:" >&2
    tail -n 100 "$log" >&2
fi
rm -f "$log"
exit "$status"
