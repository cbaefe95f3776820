# shellcheck shell=bash
# FerretDB v1 (MongoDB wire protocol, SQLite handler) on 127.0.0.1:27017, built from the
# wrapper module in infra/stack/ferretdb. Sourced by infra/stack/stack.sh.

MONGO_PORT=${LLMCACHE_MONGO_PORT:-27017}
MONGO_SRC=$STACK_HOME/ferretdb
MONGO_BIN_DIR=$STACK_CACHE/ferretdb
MONGO_BIN=$MONGO_BIN_DIR/ferretdb-llmcache
MONGO_RUN=$STACK_RUN/mongo

mongo_port() { echo "$MONGO_PORT"; }
mongo_marker() { echo "$MONGO_BIN"; }
mongo_version() { awk '$1=="require" && $2=="github.com/FerretDB/FerretDB" {print "FerretDB " $3}' "$MONGO_SRC/go.mod"; }

mongo_install() {
  local sha
  sha=$(files_sha "$MONGO_SRC/go.mod" "$MONGO_SRC/go.sum" "$MONGO_SRC/main.go")
  [[ -x $MONGO_BIN && $(cat "$MONGO_BIN_DIR/build.sha" 2>/dev/null) == "$sha" ]] && return 0
  need go "Go toolchain"
  say "mongo: building $(mongo_version) wrapper (go build; downloads modules on first run, ~1 min)"
  mkdir -p "$MONGO_BIN_DIR"
  (cd "$MONGO_SRC" && go build -mod=readonly -buildvcs=false -trimpath -tags ferretdb_no_postgresql \
    -o "$MONGO_BIN.tmp" .) || die "mongo: go build failed"
  mv -f "$MONGO_BIN.tmp" "$MONGO_BIN"
  echo "$sha" >"$MONGO_BIN_DIR/build.sha"
}

mongo_start() {
  mkdir -p "$MONGO_RUN/data"
  say "mongo: starting $(mongo_version) (sqlite) on $STACK_HOST:$MONGO_PORT"
  start_bg mongo "$MONGO_BIN" -listen "$STACK_HOST:$MONGO_PORT" -data-dir "$MONGO_RUN/data"
}

mongo_ready() { port_open "$MONGO_PORT"; }
