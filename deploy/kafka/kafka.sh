#!/usr/bin/env bash
# A single-node Kafka (KRaft, combined broker + controller) for development and tests,
# run from the Maven Central jars that pom.xml lists: the machines here have no Docker.
#
#   deploy/kafka/kafka.sh fetch    copy the jars into deploy/kafka/lib (Maven; once)
#   deploy/kafka/kafka.sh up       format storage if new, start, wait until it serves
#   deploy/kafka/kafka.sh down     stop it and wait until the process is gone
#   deploy/kafka/kafka.sh status   exit 0 when running, 3 when not
#
# Environment:
#   KAFKA_PORT             client port on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1 (default KAFKA_PORT + 1)
#   KAFKA_DIR              data, config, log and pid (default <repo>/var/kafka)
#   KAFKA_HEAP_OPTS        JVM heap (default -Xms128m -Xmx512m)
#   KAFKA_START_TIMEOUT    seconds `up` waits for the broker (default 60)
#   JAVA_HOME              optional; otherwise `java` on PATH
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="$HERE/lib"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_DIR="${KAFKA_DIR:-$ROOT/var/kafka}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

PID_FILE="$KAFKA_DIR/kafka.pid"
LOG_FILE="$KAFKA_DIR/kafka.log"
CONFIG="$KAFKA_DIR/server.properties"
LOG4J_CONFIG="$KAFKA_DIR/log4j2.properties"
DATA="$KAFKA_DIR/data"
# shellcheck disable=SC2206  # KAFKA_HEAP_OPTS holds several options
JVM=("$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Djava.net.preferIPv4Stack=true -Dlog4j2.configurationFile="$LOG4J_CONFIG" -cp "$LIB/*")

say() { echo "kafka: $*"; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

need_java() {
    command -v "$JAVA" >/dev/null 2>&1 ||
        die "java not found. Kafka needs Java 17 or newer: apt-get install openjdk-17-jre-headless (or run scripts/install-system-deps.sh)"
    local version major
    version="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
    major="${version%%.*}"
    [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] ||
        die "Java ${version:-of unknown version} found at $(command -v "$JAVA"); Kafka 4 needs Java 17 or newer: apt-get install openjdk-17-jre-headless"
}

need_mvn() {
    command -v mvn >/dev/null 2>&1 ||
        die "mvn not found. Fetching the Kafka jars needs Maven: apt-get install maven (or run scripts/install-system-deps.sh)"
}

# The jars are fetched again whenever pom.xml is newer than the last fetch, into an
# emptied lib/, so that two versions of a jar never share the class path.
cmd_fetch() {
    need_java
    if [[ -f "$LIB/.fetched" && "$LIB/.fetched" -nt "$HERE/pom.xml" ]]; then
        return 0
    fi
    need_mvn
    say "fetching the broker's jars with Maven into deploy/kafka/lib (a minute or two the first time)"
    rm -rf "$LIB"
    local out ticker status=0
    out="$(mktemp)"
    # mvn -q says nothing until it is done: say that it still works, every 15 s (and stop
    # with this script, however it ends: $$ is the script's pid, in the subshell too).
    (
        trap 'exit 0' TERM
        waited=0
        while sleep 15 && kill -0 $$ 2>/dev/null; do
            waited=$((waited + 15))
            say "still fetching the jars (${waited}s)"
        done
    ) &
    ticker=$!
    (cd "$HERE" && mvn -q -B dependency:copy-dependencies) >"$out" 2>&1 || status=$?
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    if ((status != 0)); then
        sed 's/\x1b\[[0-9;]*m//g' "$out" >&2
        rm -f "$out"
        die "mvn dependency:copy-dependencies failed (output above)"
    fi
    rm -f "$out"
    ls "$LIB"/kafka_2.13-*.jar >/dev/null 2>&1 || die "no kafka_2.13 jar in $LIB after the fetch"
    touch "$LIB/.fetched"
    say "$(find "$LIB" -name '*.jar' | wc -l) jars fetched"
}

# The pid of our broker if it runs, else nothing. A stale pid file (or a pid that now
# belongs to some other program) counts as not running.
running_pid() {
    [[ -f "$PID_FILE" ]] || return 0
    local pid
    pid="$(cat "$PID_FILE")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
        echo "$pid"
    fi
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    mkdir -p "$KAFKA_DIR" "$DATA"
    cat >"$CONFIG" <<EOF
# Written by deploy/kafka/kafka.sh at every start; edits here are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
# Only the loopback interface: nothing outside this machine can reach the broker.
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=4
auto.create.topics.enable=true
# The event log is kept forever (replays rebuild from it): no topic expires by age or size
# unless it says so itself (the changelogs are compacted).
log.retention.ms=-1
log.retention.bytes=-1
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    cat >"$LOG4J_CONFIG" <<'EOF'
# Written by deploy/kafka/kafka.sh: everything to stdout, which goes to kafka.log.
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
# The full list of settings at start: server.properties says what differs from defaults.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
EOF
}

format_storage() {
    [[ -f "$DATA/meta.properties" ]] && return 0
    # A cluster id is 16 random bytes in URL-safe base64 without padding (22 characters).
    # One id in 64 would start with '-', which the tool's argument parser takes for an option
    # (Kafka's own Uuid.randomUuid draws again for the same reason).
    local cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do
        cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    say "formatting KRaft storage in $DATA (cluster id $cluster_id)"
    "${JVM[@]}" kafka.tools.StorageTool format --ignore-formatted \
        --cluster-id "$cluster_id" --config "$CONFIG" >"$KAFKA_DIR/format.log" 2>&1 ||
        { cat "$KAFKA_DIR/format.log" >&2; die "formatting the storage failed"; }
}

wait_until_serving() {
    local pid="$1" waited=0
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE"
            echo "---- last lines of $LOG_FILE ----" >&2
            tail -n 30 "$LOG_FILE" >&2 || true
            die "the broker exited while starting"
        fi
        # The port is bound a little before requests are served; the log line marks the end.
        if port_answers "$KAFKA_PORT" && grep -q 'Kafka Server started' "$LOG_FILE" 2>/dev/null; then
            say "up on 127.0.0.1:$KAFKA_PORT (pid $pid, ${waited}s)"
            return 0
        fi
        if ((waited >= KAFKA_START_TIMEOUT)); then
            echo "---- last lines of $LOG_FILE ----" >&2
            tail -n 30 "$LOG_FILE" >&2 || true
            die "not serving on 127.0.0.1:$KAFKA_PORT after ${KAFKA_START_TIMEOUT}s (pid $pid still runs; stop it with: $0 down)"
        fi
        if ((waited > 0 && waited % 5 == 0)); then
            say "waiting for 127.0.0.1:$KAFKA_PORT ... ${waited}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

cmd_up() {
    local pid
    pid="$(running_pid)"
    if [[ -n "$pid" ]]; then
        say "already running (pid $pid, data in $KAFKA_DIR)"
        wait_until_serving "$pid"
        return 0
    fi
    if port_answers "$KAFKA_PORT"; then
        die "127.0.0.1:$KAFKA_PORT is already taken by another process; choose another KAFKA_PORT"
    fi
    cmd_fetch
    write_config
    format_storage
    if [[ -f "$LOG_FILE" ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
    rm -f "$PID_FILE"
    say "starting on 127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, data in $KAFKA_DIR)"
    # setsid: the broker lives on after this script, in its own session, so a Ctrl-C
    # meant for the caller does not reach it; `down` stops it. The inner shell writes its
    # own pid, which `exec` hands on to java, so the pid file is right however setsid forks.
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" "${JVM[@]}" kafka.Kafka "$CONFIG" \
        </dev/null >"$LOG_FILE" 2>&1 &
    local waited=0
    while [[ ! -s "$PID_FILE" ]] && ((waited < 50)); do sleep 0.1; waited=$((waited + 1)); done
    pid="$(cat "$PID_FILE" 2>/dev/null)" || die "the broker did not start (see $LOG_FILE)"
    wait_until_serving "$pid"
}

cmd_down() {
    local pid waited=0
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        rm -f "$PID_FILE"
        say "not running (data in $KAFKA_DIR)"
        return 0
    fi
    say "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= 30)); then
            say "still running after 30s: killing pid $pid"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 1
        waited=$((waited + 1))
    done
    kill -0 "$pid" 2>/dev/null && die "pid $pid survived SIGKILL"
    rm -f "$PID_FILE"
    say "stopped"
}

cmd_status() {
    local pid
    pid="$(running_pid)"
    if [[ -n "$pid" ]]; then
        if port_answers "$KAFKA_PORT"; then
            say "running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
        else
            say "running (pid $pid), but 127.0.0.1:$KAFKA_PORT does not answer (starting, or another KAFKA_PORT)"
        fi
        return 0
    fi
    say "not running (data in $KAFKA_DIR)"
    return 3
}

case "${1:-}" in
    fetch) cmd_fetch ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 fetch|up|down|status" >&2
        exit 2
        ;;
esac
