#!/usr/bin/env bash
# Local real stack for LLM-Cache, no Docker: Kafka, schema registry (Apicurio), Milvus (standalone),
# FerretDB (MongoDB wire), S3Proxy, Prometheus; all on 127.0.0.1.
#
#   bash infra/stack/stack.sh up [names...]     start (installs on first run), waits for readiness
#   bash infra/stack/stack.sh down [names...]   stops what this script started (pid files)
#   bash infra/stack/stack.sh status            one line per server
#   bash infra/stack/stack.sh env               export lines with the endpoints
#   bash infra/stack/stack.sh config            writes LLM-Cache's settings for the stack, prints the file's path
#   bash infra/stack/stack.sh logs NAME         tail -f a server's log
#   bash infra/stack/stack.sh install [names]   download/build only
#
# Names: kafka registry milvus mongo s3 prometheus (aliases: apicurio, ferretdb, s3proxy).
# Env: LLMCACHE_STACK_CACHE (downloads/builds, default ~/.cache/llm-cache/stack),
#      LLMCACHE_STACK_DIR (data, logs, pids, default ~/.cache/llm-cache/run),
#      LLMCACHE_STACK_FRESH=1 (stop the named servers if running, wipe their data, start them),
#      LLMCACHE_STACK_TIMEOUT (readiness timeout per server, seconds, default 120).
set -uo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=/dev/null
for f in kafka/kafka.sh apicurio/registry.sh milvus/milvus.sh ferretdb/mongo.sh s3proxy/s3.sh prometheus/prometheus.sh; do
  source "$STACK_HOME/$f"
done

ALL=(kafka registry milvus mongo s3 prometheus)

canon() {
  case $1 in
    kafka) echo kafka ;;
    registry | apicurio | schema-registry) echo registry ;;
    milvus | milvus-lite) echo milvus ;;
    mongo | mongodb | ferretdb) echo mongo ;;
    s3 | s3proxy) echo s3 ;;
    prometheus | prom) echo prometheus ;;
    *) die "unknown server '$1' (known: ${ALL[*]})" ;;
  esac
}

names_or_all() {
  if (($# == 0)); then
    echo "${ALL[@]}"
  else
    local n out=()
    for n in "$@"; do out+=("$(canon "$n")"); done
    echo "${out[@]}"
  fi
}

run_dir_of() {
  case $1 in
    kafka) echo "$KAFKA_RUN" ;; registry) echo "$REGISTRY_RUN" ;; milvus) echo "$MILVUS_RUN" ;;
    mongo) echo "$MONGO_RUN" ;; s3) echo "$S3_RUN" ;; prometheus) echo "$PROM_RUN" ;;
  esac
}

cmd_install() {
  ensure_dirs
  local n
  for n in $(names_or_all "$@"); do "${n}_install"; done
}

cmd_up() {
  ensure_dirs
  local names n t0 failed=0 to_wait=()
  names=$(names_or_all "$@")
  t0=$(date +%s)
  # 1. download/build what is missing (sequential: progress stays readable)
  local ti
  for n in $names; do
    ti=$(date +%s)
    "${n}_install"
    (($(date +%s) - ti >= 2)) && say "$n: install step took $(($(date +%s) - ti))s"
  done
  # 2. start what is not running
  for n in $names; do
    if [[ ${LLMCACHE_STACK_FRESH:-0} == 1 ]] && pid_alive "$n"; then
      say "$n: LLMCACHE_STACK_FRESH=1, restarting with empty data"
      stop_one "$n"; wait_stopped "$n"
    fi
    if pid_alive "$n"; then
      if ! port_owned "$n" && port_open "$("${n}_port")"; then
        echo "[stack] ERROR: $n: our pid $(read_pid "$n") is alive but port $("${n}_port") belongs to another process" >&2
        ss -ltnp "sport = :$("${n}_port")" >&2 2>/dev/null || true
        failed=1
        continue
      fi
      if "${n}_ready" >/dev/null 2>&1; then
        say "$n: already running on $STACK_HOST:$("${n}_port") (pid $(read_pid "$n"))"
        continue
      fi
      say "$n: pid $(read_pid "$n") alive but not ready yet, waiting"
      to_wait+=("$n")
      continue
    fi
    rm -f "$(pid_file "$n")"
    if port_open "$("${n}_port")"; then
      echo "[stack] ERROR: $n: port $("${n}_port") is already in use by a process this script did not start:" >&2
      ss -ltnp "sport = :$("${n}_port")" >&2 2>/dev/null || true
      [[ $n == prometheus ]] && echo "[stack]   $(prometheus_foreign_hint)" >&2
      failed=1
      continue
    fi
    if [[ ${LLMCACHE_STACK_FRESH:-0} == 1 ]]; then
      say "$n: LLMCACHE_STACK_FRESH=1, wiping $(run_dir_of "$n")"
      rm -rf "$(run_dir_of "$n")"
    fi
    "${n}_start"
    to_wait+=("$n")
  done
  # 3. wait for real readiness
  for n in "${to_wait[@]}"; do
    if wait_ready "$n"; then
      if declare -F "${n}_post_start" >/dev/null; then "${n}_post_start" || warn "$n: post-start step failed"; fi
    else
      failed=1
    fi
  done
  if ((failed)); then
    say "up: FAILED after $(($(date +%s) - t0))s (see messages above; logs in $STACK_LOGS)"
    return 1
  fi
  write_config
  say "up: all ready in $(($(date +%s) - t0))s (settings for LLM-Cache in $(config_file))"
}

# The one place the local stack's addresses and credentials are written; `llm-cache cluster --stack`
# and `llm-cache service --stack` (what npm run start:distributed runs) read it.
config_file() { echo "$STACK_RUN/llm-cache.yaml"; }

write_config() {
  local file tmp
  file=$(config_file)
  tmp="$file.tmp.$$"
  cat >"$tmp" <<CONFIG
# The local stack's addresses and credentials, written by infra/stack/stack.sh up.
mode: distributed
kafka:
  brokers: $STACK_HOST:$KAFKA_PORT
  registryUrl: http://$STACK_HOST:$REGISTRY_PORT/apis/ccompat/v7
milvus:
  address: $STACK_HOST:$MILVUS_PORT
mongo:
  url: mongodb://$STACK_HOST:$MONGO_PORT/
s3:
  endpoint: http://$STACK_HOST:$S3_PORT
  region: us-east-1
  accessKeyId: $S3_IDENTITY
  secretAccessKey: $S3_CREDENTIAL
  forcePathStyle: true
CONFIG
  chmod 600 "$tmp" && mv "$tmp" "$file"
}

cmd_down() {
  local names n
  names=$(names_or_all "$@")
  for n in $names; do stop_one "$n"; done
  for n in $names; do wait_stopped "$n"; done
  return 0
}

cmd_status() {
  local n state pid ver any_down=0
  for n in "${ALL[@]}"; do
    pid=$(read_pid "$n")
    if pid_alive "$n"; then
      if port_owned "$n" && "${n}_ready" >/dev/null 2>&1; then state=running; else state=starting; any_down=1; fi
    else
      pid=-
      if port_open "$("${n}_port")"; then state="foreign(port in use, not ours)"; else state=stopped; fi
      any_down=1
    fi
    ver=$("${n}_version" 2>/dev/null || true)
    printf '%-10s %-9s port %-6s pid %-8s %s\n' "$n" "$state" "$("${n}_port")" "$pid" "${ver:-}"
  done
  return $any_down
}

cmd_env() {
  cat <<EOF
export KAFKA_BROKERS=$STACK_HOST:$KAFKA_PORT
export SCHEMA_REGISTRY_URL=http://$STACK_HOST:$REGISTRY_PORT/apis/ccompat/v7
export MILVUS_ADDRESS=$STACK_HOST:$MILVUS_PORT
export MONGO_URL=mongodb://$STACK_HOST:$MONGO_PORT/
export S3_ENDPOINT=http://$STACK_HOST:$S3_PORT
export S3_REGION=us-east-1
export S3_ACCESS_KEY_ID=$S3_IDENTITY
export S3_SECRET_ACCESS_KEY=$S3_CREDENTIAL
export S3_FORCE_PATH_STYLE=true
export PROMETHEUS_URL=http://$STACK_HOST:$PROM_PORT
EOF
}

cmd_logs() {
  (($# == 1)) || die "usage: stack.sh logs NAME"
  tail -n 100 -f "$(log_file "$(canon "$1")")"
}

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    up | start) cmd_up "$@" ;;
    down | stop) cmd_down "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    config) ensure_dirs && write_config && config_file ;;
    logs) cmd_logs "$@" ;;
    install) cmd_install "$@" ;;
    -h | --help | help | "") usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
