#!/usr/bin/env bash
# `make load`: the platform under 200 simulated users on this machine, then a table of the figures.
#
# 1. a fresh PostgreSQL database (LOAD_DATABASE), migrated, with the demo data and two synthetic
#    waves of LOAD_RESPONSES_PER_WAVE complete responses each (20,000 in all by default);
# 2. gunicorn (config/gunicorn.py, LOAD_WEB_WORKERS sync workers), a Celery worker and beat on
#    LOAD_REDIS_URL (whose Redis database the run empties first: use one nothing else uses);
# 3. locust headless (load/locustfile.py): LOAD_USERS users, LOAD_SPAWN_RATE a second, LOAD_TIME;
# 4. the table (load/report.py); every process started here is stopped on the way out.
#
# Quick check: LOAD_TIME=1m LOAD_RESPONSES_PER_WAVE=2000 make load (LOAD_SEED=0 reuses the last database)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-.venv/bin}"
PG="${LOAD_PG:-postgres://postgres@127.0.0.1:5432}"
DB="${LOAD_DATABASE:-kelu_load}"
export DATABASE_URL="$PG/$DB"
export REDIS_URL="${LOAD_REDIS_URL:-redis://127.0.0.1:6379/9}"
PORT="${LOAD_PORT:-8765}"
USERS="${LOAD_USERS:-200}"
SPAWN_RATE="${LOAD_SPAWN_RATE:-20}"
RUN_TIME="${LOAD_TIME:-5m}"
PER_WAVE="${LOAD_RESPONSES_PER_WAVE:-10000}"
WEB_WORKERS="${LOAD_WEB_WORKERS:-4}"
OUT="${LOAD_OUT:-var/load}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# Production settings (DEBUG off), plain HTTP on the loopback.
export DEBUG=0 SECURE_COOKIES=false SECRET_KEY="${SECRET_KEY:-load-test-only-not-a-deployment-key}"
export MEDIA_ROOT="$OUT/media" EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend LOG_LEVEL=WARNING

PIDS=()
stop() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop EXIT

if [ "${LOAD_SEED:-1}" = "0" ]; then
  echo "== reusing the database $DB as the last run left it (LOAD_SEED=0)"
else
echo "== a fresh database $DB, Redis $REDIS_URL emptied"
"$BIN/python" - <<EOF
import psycopg, redis
with psycopg.connect("$PG/postgres", autocommit=True) as conn:
    conn.execute('DROP DATABASE IF EXISTS "$DB" WITH (FORCE)')
    conn.execute('CREATE DATABASE "$DB"')
redis.Redis.from_url("$REDIS_URL").flushdb()
EOF
"$BIN/python" manage.py migrate --noinput -v 0

echo "== demo data and $PER_WAVE responses in each of two synthetic waves (details in $OUT/seed.log)"
SECONDS=0
# The seed's own jobs (the synthetic waves' figures) run in-process, before the clock starts.
{
  export REDIS_URL=""
  "$BIN/python" manage.py load_demo --force
  "$BIN/python" manage.py load_analytics_demo --force --per-wave "$PER_WAVE"
  "$BIN/python" load/accounts.py "$OUT/accounts.json"
} > "$OUT/seed.log" 2>&1 || { tail -40 "$OUT/seed.log"; exit 1; }
echo "   seeded in ${SECONDS} s"
fi

echo "== gunicorn ($WEB_WORKERS workers), a Celery worker and beat"
GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS="$WEB_WORKERS" \
  "$BIN/gunicorn" config.wsgi -c config/gunicorn.py --access-logfile /dev/null > "$OUT/gunicorn.log" 2>&1 &
PIDS+=($!)
"$BIN/celery" -A config worker --queues interactive,bulk,export,analytics --concurrency 1 \
  --loglevel WARNING > "$OUT/worker.log" 2>&1 &
PIDS+=($!)
"$BIN/celery" -A config beat --loglevel WARNING --schedule "$OUT/celerybeat-schedule" > "$OUT/beat.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break
  sleep 1
done
curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null || { echo "the server did not come up"; tail -30 "$OUT/gunicorn.log"; exit 1; }

echo "== locust: $USERS users, $SPAWN_RATE/s, $RUN_TIME"
rm -f "$OUT"/locust_*.csv "$OUT/groups.json"
LOAD_ACCOUNTS="$OUT/accounts.json" LOAD_GROUPS="$OUT/groups.json" \
  "$BIN/locust" -f load/locustfile.py --headless -u "$USERS" -r "$SPAWN_RATE" -t "$RUN_TIME" \
  --host "http://127.0.0.1:$PORT" --csv "$OUT/locust" --only-summary --loglevel WARNING \
  > "$OUT/locust.log" 2>&1 || true
"$BIN/python" load/report.py "$OUT/groups.json" "$OUT/locust_stats.csv" "$RUN_TIME"
