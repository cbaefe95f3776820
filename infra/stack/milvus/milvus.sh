# shellcheck shell=bash
# Milvus 2.3 standalone server on 127.0.0.1:19530 (PyPI `milvus`: the real server binary with embedded
# etcd, RocksMQ and local storage, in a venv under the cache). Sourced by infra/stack/stack.sh.
#
# Besides the gRPC port it listens on its internal ports (root/query/data/index coordinators and
# nodes: 53100, 19529, 19531, 21121-21124, 13333; the server binds them on every interface), embedded
# etcd on 127.0.0.1:2379/2380 and its metrics/health port 9091. LLMCACHE_MILVUS_ETCD_PORT moves the
# etcd client port; the others are chosen by `milvus-server` (the next free one when taken).

MILVUS_PORT=${LLMCACHE_MILVUS_PORT:-19530}
MILVUS_ETCD_PORT=${LLMCACHE_MILVUS_ETCD_PORT:-2379}
MILVUS_REQ=$STACK_HOME/milvus/requirements.txt
MILVUS_VENV=$STACK_CACHE/milvus/venv-server
MILVUS_RUN=$STACK_RUN/milvus

milvus_port() { echo "$MILVUS_PORT"; }
milvus_marker() { echo "$MILVUS_VENV/bin/milvus-server"; }
milvus_version() { awk -F'==' '/^milvus==/ {print "Milvus " $2}' "$MILVUS_REQ"; }

milvus_python() {
  local p
  for p in python3.11 python3.12 python3.10 python3; do
    command -v "$p" >/dev/null 2>&1 && { echo "$p"; return 0; }
  done
  return 1
}

milvus_install() {
  local sha py
  sha=$(files_sha "$MILVUS_REQ")
  [[ -x $MILVUS_VENV/bin/milvus-server && $(cat "$MILVUS_VENV/.req.sha" 2>/dev/null) == "$sha" ]] && return 0
  py=$(milvus_python) || die "milvus: python3 not found"
  say "milvus: creating venv $MILVUS_VENV ($($py --version 2>&1)) and installing $(milvus_version) (pip, ~60 MB)"
  rm -rf "$MILVUS_VENV"
  "$py" -m venv "$MILVUS_VENV" || die "milvus: venv creation failed (python3-venv missing?)"
  "$MILVUS_VENV/bin/pip" install --disable-pip-version-check --progress-bar off -r "$MILVUS_REQ" ||
    die "milvus: pip install failed"
  echo "$sha" >"$MILVUS_VENV/.req.sha"
}

milvus_start() {
  mkdir -p "$MILVUS_RUN/data"
  # A data folder left by milvus-lite (one file per collection, no etcd) is not readable by the server.
  if [[ -e $MILVUS_RUN/data && ! -d $MILVUS_RUN/data/etcd && -n $(ls -A "$MILVUS_RUN/data" 2>/dev/null) && ! -d $MILVUS_RUN/data/configs ]]; then
    say "milvus: moving an older milvus-lite data folder aside to $MILVUS_RUN/data.lite"
    rm -rf "$MILVUS_RUN/data.lite" && mv "$MILVUS_RUN/data" "$MILVUS_RUN/data.lite" && mkdir -p "$MILVUS_RUN/data"
  fi
  say "milvus: starting $(milvus_version) on $STACK_HOST:$MILVUS_PORT (etcd on $MILVUS_ETCD_PORT)"
  start_bg milvus "$MILVUS_VENV/bin/milvus-server" --data "$MILVUS_RUN/data" \
    --proxy-port "$MILVUS_PORT" --etcd-port "$MILVUS_ETCD_PORT"
}

milvus_ready() {
  port_open "$MILVUS_PORT" &&
    timeout 20 "$MILVUS_VENV/bin/python" "$STACK_HOME/milvus/ready.py" "$STACK_HOST" "$MILVUS_PORT"
}
