#!/usr/bin/env bash
# make demo: Kafka, `tthc run` (ingest + aggregator + API on embedded ClickHouse), a province's
# workload sent through the ingest as its integrations would, and a live scoreboard.
# Everything listens on 127.0.0.1 only. Ctrl-C (or TERM, or HUP: a closed terminal) stops what
# this script started, and only that, the broker included, and ends with status 0. Through a pipe
# (`make demo | tee demo.log`) the scoreboard prints plain lines instead of redrawing.
#
# Environment: KAFKA_PORT (9092), DEMO_API_PORT (8000), DEMO_INGEST_PORT (8001),
# DEMO_AGGREGATOR_PORT (8002), DEMO_RATE events/s (800), DEMO_SCALE (1.0), DEMO_SPEED (0: by
# rate; e.g. 200000 replays the three months' timeline, nightly batches and all, in ~40 s),
# DEMO_DIR (var/demo: data, logs, the demo's key and token), and kafka.sh's KAFKA_* variables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TTHC=.venv/bin/tthc
PY=.venv/bin/python
KAFKA=deploy/kafka/kafka.sh
DIR="${DEMO_DIR:-var/demo}"
API_PORT="${DEMO_API_PORT:-8000}"
INGEST_PORT="${DEMO_INGEST_PORT:-8001}"
AGGREGATOR_PORT="${DEMO_AGGREGATOR_PORT:-8002}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_PORT

started=$SECONDS
# `|| true`: after a Ctrl-C the pipe into `tee` may be gone; the cleanup must go on regardless.
say() { echo "== demo [$((SECONDS - started))s]: $*" 2>/dev/null || true; }

started_kafka=0
run_pid=""
simulate_pid=""
board_pid=""
cleanup() {
    trap - EXIT INT TERM HUP
    trap '' INT TERM HUP PIPE  # a second Ctrl-C, or a closed pipe, must not cut the cleanup short
    set +e
    if [[ -n "$board_pid" ]] && kill -0 "$board_pid" 2>/dev/null; then
        kill -TERM "$board_pid" 2>/dev/null || true
        wait "$board_pid" 2>/dev/null || true
    fi
    if [[ -n "$simulate_pid" ]] && kill -0 "$simulate_pid" 2>/dev/null; then
        kill -TERM "$simulate_pid" 2>/dev/null || true
        wait "$simulate_pid" 2>/dev/null || true
    fi
    if [[ -n "$run_pid" ]] && kill -0 "$run_pid" 2>/dev/null; then
        say "stopping tthc run (pid $run_pid)"
        kill -TERM "$run_pid" 2>/dev/null || true
        for _ in $(seq 60); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$run_pid" 2>/dev/null || true
        wait "$run_pid" 2>/dev/null || true
    fi
    if ((started_kafka)); then
        say "stopping Kafka"
        "$KAFKA" down >/dev/null || true
    fi
    say "stopped; logs and data in $DIR/"
}
trap cleanup EXIT
# Asked to stop is the normal end of a demo: exit 0, so make reports no error.
trap 'exit 0' INT TERM HUP

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$API_PORT" "$INGEST_PORT" "$AGGREGATOR_PORT"; do
    if port_busy "$port"; then
        echo "demo: port $port on 127.0.0.1 is in use; stop what uses it, or set DEMO_*_PORT" >&2
        exit 1
    fi
done

if "$KAFKA" status >/dev/null 2>&1; then
    say "Kafka already runs on 127.0.0.1:$KAFKA_PORT (left running at the end)"
else
    started_kafka=1  # before `up`: a Ctrl-C while it starts must stop it too
    say "starting Kafka on 127.0.0.1:$KAFKA_PORT"
    "$KAFKA" up
fi

# A fresh ingest key and viewer token each run; only their hashes are stored.
mkdir -p "$DIR"
"$PY" - "$DIR" <<'EOF'
import sys
from pathlib import Path

from services.auth import generate_key, hash_key

folder = Path(sys.argv[1])
for name, holder in (("ingest-keys", "simulator"), ("viewer-tokens", "demo-viewer")):
    secret = generate_key()
    (folder / f"{name}.toml").write_text(
        f'[[keys]]\nname = "{holder}"\nsha256 = "{hash_key(secret)}"\nscope = ["75"]\n',
        encoding="utf-8",
    )
    (folder / f"{name}.secret").write_text(secret + "\n", encoding="utf-8")
EOF
chmod 600 "$DIR"/*.secret

say "starting tthc run (log: $DIR/run.log)"
"$TTHC" run --kafka "127.0.0.1:$KAFKA_PORT" --data-dir "$DIR" \
    --api-port "$API_PORT" --ingest-port "$INGEST_PORT" --aggregator-port "$AGGREGATOR_PORT" \
    --ingest-keys "$DIR/ingest-keys.toml" --viewer-tokens "$DIR/viewer-tokens.toml" \
    >"$DIR/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 180); do
    kill -0 "$run_pid" 2>/dev/null || { tail -n 30 "$DIR/run.log" >&2; echo "demo: tthc run exited" >&2; exit 1; }
    if curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null &&
        curl -sf "http://127.0.0.1:$INGEST_PORT/healthz" >/dev/null; then
        break
    fi
    sleep 0.5
done
curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null || { echo "demo: the API did not start" >&2; exit 1; }

say "tthc run is up; sending Đồng Nai's last three months through the ingest (log: $DIR/simulate.log)"
TTHC_SIMULATE_KEY="$(cat "$DIR/ingest-keys.secret")" "$TTHC" simulate \
    --url "http://127.0.0.1:$INGEST_PORT" --rate "${DEMO_RATE:-800}" \
    --scale "${DEMO_SCALE:-1.0}" --speed "${DEMO_SPEED:-0}" --quiet >"$DIR/simulate.log" 2>&1 &
simulate_pid=$!

viewer="$(cat "$DIR/viewer-tokens.secret")"
say "API docs: http://127.0.0.1:$API_PORT/docs"
say "late dossiers of the province (viewer token in $DIR/viewer-tokens.secret):"
echo "   curl -H 'Authorization: Bearer $viewer' 'http://127.0.0.1:$API_PORT/v1/units/75/dossiers?indicator=2.1&outcome=late'"
say "Ctrl-C stops everything"
sleep 2
# In the background and waited for: a signal to this script then runs the cleanup at once.
"$TTHC" scoreboard --url "http://127.0.0.1:$API_PORT" --ingest-url "http://127.0.0.1:$INGEST_PORT" \
    --aggregator-url "http://127.0.0.1:$AGGREGATOR_PORT" --every 3 &
board_pid=$!
wait "$board_pid"
