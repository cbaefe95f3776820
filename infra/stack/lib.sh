# shellcheck shell=bash
# Common helpers for infra/stack/stack.sh. Sourced, not executed.

STACK_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STACK_CACHE=${LLMCACHE_STACK_CACHE:-$HOME/.cache/llm-cache/stack}
STACK_RUN=${LLMCACHE_STACK_DIR:-$HOME/.cache/llm-cache/run}
STACK_LOGS=$STACK_RUN/logs
STACK_PIDS=$STACK_RUN/pids
STACK_TIMEOUT=${LLMCACHE_STACK_TIMEOUT:-120}
STACK_HOST=127.0.0.1
M2_REPO=$STACK_CACHE/m2
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

say() { echo "[stack] $*"; }
warn() { echo "[stack] WARNING: $*" >&2; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }

ensure_dirs() { mkdir -p "$STACK_CACHE" "$STACK_LOGS" "$STACK_PIDS"; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

# mvn with the stack's own local repository (a cache, outside the repo). Output is trimmed to
# one line per downloaded jar/archive plus errors; the exit status is mvn's.
stack_mvn() {
  mvn -B -Dstyle.color=never -Dmaven.repo.local="$M2_REPO" "$@" 2>&1 |
    awk '/^\[INFO\] Downloaded from .*\.(jar|tar\.gz|zip) / { n = split($5, p, "/"); s = $0; sub(/.*\(/, "(", s); print "  [mvn] downloaded " p[n] " " s; fflush(); next }
         /ERROR|BUILD FAILURE/ { print "  [mvn] " $0; fflush() }'
  return "${PIPESTATUS[0]}"
}

# port_open PORT -> 0 when something accepts TCP connections on 127.0.0.1:PORT
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$STACK_HOST/$1" 2>/dev/null; }

pid_file() { echo "$STACK_PIDS/$1.pid"; }
log_file() { echo "$STACK_LOGS/$1.log"; }

# read_pid NAME -> prints pid from our pid file (empty if none)
read_pid() { local f; f=$(pid_file "$1"); [[ -f $f ]] && head -n1 "$f" | tr -dc '0-9'; }

# pid_alive NAME -> 0 if our pid file points to a live process whose command line
# still contains the server's marker (guards against pid reuse).
pid_alive() {
  local name=$1 pid marker
  pid=$(read_pid "$name")
  [[ -n $pid ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  marker=$("${name}_marker")
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$marker"* ]]
}

# start_bg NAME CMD... : starts CMD detached (own session/process group), stdout+stderr
# to the server's log (previous log kept as .log.1), writes the pid file.
start_bg() {
  local name=$1; shift
  local log; log=$(log_file "$name")
  [[ -f $log ]] && mv -f "$log" "$log.1"
  echo "=== $(date -u +%FT%TZ) starting $name: $*" >"$log"
  ( exec setsid "$@" >>"$log" 2>&1 </dev/null ) &
  echo $! >"$(pid_file "$name")"
}

# port_owned NAME -> 0 when the server's port is listened on by our pid or a child in its session
# (start_bg runs each server in a session of its own; Milvus' launcher starts the server as a child),
# or when ss is missing.
port_owned() {
  local pid port owner
  command -v ss >/dev/null 2>&1 || return 0
  pid=$(read_pid "$1"); port=$("${1}_port")
  for owner in $(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
    [[ $owner == "$pid" || $(ps -o sid= -p "$owner" 2>/dev/null | tr -d ' ') == "$pid" ]] && return 0
  done
  return 1
}

tail_log() {
  local log; log=$(log_file "$1")
  echo "----- last 50 lines of $log -----" >&2
  tail -n 50 "$log" >&2 2>/dev/null || true
  echo "----- end of $log -----" >&2
}

# stop_pid NAME [quiet]: TERM our process group, wait, then KILL; removes pid file.
stop_one() {
  local name=$1 pid f
  f=$(pid_file "$name")
  [[ -f $f ]] || return 0
  pid=$(read_pid "$name")
  if pid_alive "$name"; then
    say "$name: stopping pid $pid"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  fi
}

wait_stopped() {
  local name=$1 pid f i
  f=$(pid_file "$name")
  [[ -f $f ]] || return 0
  pid=$(read_pid "$name")
  for ((i = 0; i < ${STACK_STOP_WAIT:-30} * 5; i++)); do
    pid_alive "$name" || break
    sleep 0.2
  done
  if pid_alive "$name"; then
    warn "$name: pid $pid still alive after TERM, sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$f"
  say "$name: stopped"
}

# wait_ready NAME : polls NAME_ready until it succeeds, the process dies, or timeout.
wait_ready() {
  local name=$1 t0 now deadline
  t0=$(date +%s)
  deadline=$((t0 + STACK_TIMEOUT))
  while :; do
    if ! pid_alive "$name"; then
      echo "[stack] ERROR: $name: process exited before becoming ready" >&2
      tail_log "$name"
      rm -f "$(pid_file "$name")"
      return 1
    fi
    if "${name}_ready" >/dev/null 2>&1; then
      now=$(date +%s)
      say "$name: ready on $STACK_HOST:$("${name}_port") (pid $(read_pid "$name"), $((now - t0))s)"
      return 0
    fi
    now=$(date +%s)
    if ((now >= deadline)); then
      echo "[stack] ERROR: $name: not ready after ${STACK_TIMEOUT}s" >&2
      tail_log "$name"
      stop_one "$name"
      wait_stopped "$name"
      return 1
    fi
    sleep 0.5
  done
}

# http_code URL -> prints the HTTP status code (000 when nothing answered)
http_code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true; }

# files_sha FILE... -> short sha of the files' contents (build stamps)
files_sha() { cat "$@" | sha256sum | cut -c1-16; }
