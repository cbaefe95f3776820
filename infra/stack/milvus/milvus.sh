# shellcheck shell=bash
# Milvus Lite gRPC server on 127.0.0.1:19530 (PyPI milvus-lite, in a venv under the cache).
# Sourced by infra/stack/stack.sh.

MILVUS_PORT=${LLMCACHE_MILVUS_PORT:-19530}
MILVUS_REQ=$STACK_HOME/milvus/requirements.txt
MILVUS_VENV=$STACK_CACHE/milvus/venv
MILVUS_RUN=$STACK_RUN/milvus

milvus_port() { echo "$MILVUS_PORT"; }
milvus_marker() { echo "$MILVUS_VENV/bin/milvus-lite"; }
milvus_version() { awk -F'==' '/^milvus-lite==/ {print "milvus-lite " $2}' "$MILVUS_REQ"; }

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
  [[ -x $MILVUS_VENV/bin/milvus-lite && $(cat "$MILVUS_VENV/.req.sha" 2>/dev/null) == "$sha" ]] && return 0
  py=$(milvus_python) || die "milvus: python3 not found"
  say "milvus: creating venv $MILVUS_VENV ($($py --version 2>&1)) and installing $(milvus_version) (pip)"
  rm -rf "$MILVUS_VENV"
  "$py" -m venv "$MILVUS_VENV" || die "milvus: venv creation failed (python3-venv missing?)"
  "$MILVUS_VENV/bin/pip" install --disable-pip-version-check --progress-bar off -r "$MILVUS_REQ" ||
    die "milvus: pip install failed"
  echo "$sha" >"$MILVUS_VENV/.req.sha"
}

milvus_start() {
  mkdir -p "$MILVUS_RUN/data"
  say "milvus: starting $(milvus_version) on $STACK_HOST:$MILVUS_PORT"
  start_bg milvus "$MILVUS_VENV/bin/milvus-lite" server --data-dir "$MILVUS_RUN/data" \
    --host "$STACK_HOST" --port "$MILVUS_PORT"
}

milvus_ready() {
  port_open "$MILVUS_PORT" &&
    timeout 20 "$MILVUS_VENV/bin/python" "$STACK_HOME/milvus/ready.py" "$STACK_HOST" "$MILVUS_PORT"
}

# milvus-lite comes back from a restart with every collection 'released' (search/query then
# answer error 101); a real Milvus restores the load state. Re-load them unless disabled.
milvus_post_start() {
  [[ ${LLMCACHE_MILVUS_LOAD_ALL:-1} == 1 ]] || return 0
  "$MILVUS_VENV/bin/python" "$STACK_HOME/milvus/ready.py" "$STACK_HOST" "$MILVUS_PORT" --load-all |
    sed 's/^/[stack] milvus: /'
}
