# shellcheck shell=bash
# Prometheus from Debian's package, our own process (not the packaged service) on 127.0.0.1:9090.
# Sourced by infra/stack/stack.sh.

PROM_PORT=${LLMCACHE_PROMETHEUS_PORT:-9090}
PROM_BIN=${LLMCACHE_PROMETHEUS_BIN:-/usr/bin/prometheus}
PROM_CONFIG=${LLMCACHE_PROMETHEUS_CONFIG:-$STACK_HOME/prometheus.yml}
PROM_RUN=$STACK_RUN/prometheus

prometheus_port() { echo "$PROM_PORT"; }
prometheus_marker() { echo "--storage.tsdb.path=$PROM_RUN/data"; }
prometheus_version() { "$PROM_BIN" --version 2>/dev/null | awk 'NR==1 {print "Prometheus " $3}'; }

prometheus_install() {
  [[ -x $PROM_BIN ]] && return 0
  command -v apt-get >/dev/null 2>&1 || die "prometheus: $PROM_BIN missing and no apt-get"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  say "prometheus: installing Debian package 'prometheus' (apt-get)"
  $sudo apt-get update -qq || warn "prometheus: apt-get update failed"
  # policy-rc.d (exit 101) keeps the package's own service from starting while it installs
  local prc=/usr/sbin/policy-rc.d made=0
  if [[ ! -e $prc ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$prc" >/dev/null && $sudo chmod +x "$prc" && made=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends prometheus
  local rc=$?
  ((made)) && $sudo rm -f "$prc"
  ((rc == 0)) || die "prometheus: apt-get install failed"
  # Where systemd runs, keep the packaged service (0.0.0.0:9090) off: we run our own instance.
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/prometheus ]]; then
    $sudo /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && $sudo update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
  [[ -x $PROM_BIN ]] || die "prometheus: $PROM_BIN still missing"
}

prometheus_start() {
  mkdir -p "$PROM_RUN/data"
  say "prometheus: starting $(prometheus_version) on $STACK_HOST:$PROM_PORT (config $PROM_CONFIG)"
  start_bg prometheus "$PROM_BIN" --config.file="$PROM_CONFIG" \
    --storage.tsdb.path="$PROM_RUN/data" --storage.tsdb.retention.time=2d \
    --web.listen-address="$STACK_HOST:$PROM_PORT" --web.enable-lifecycle
}

prometheus_ready() { [[ $(http_code "http://$STACK_HOST:$PROM_PORT/-/ready") == 200 ]]; }

# Hint printed when 9090 is taken by a process we did not start (e.g. the packaged service).
prometheus_foreign_hint() {
  echo "the Debian service may be running: stop it with 'systemctl disable --now prometheus' or '/etc/init.d/prometheus stop'"
}
