#!/usr/bin/env bash
# Quick start: install what is missing, migrate, create keys and a first admin, then run
# api, signal and relay in the foreground on local Postgres and Redis. Ctrl-C stops all three.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# State of this installation: the kept database settings (local-database.sh) and, by default, the keys.
export VAR_DIR="${VAR_DIR:-$ROOT/var}"
export KEY_DIR="${KEY_DIR:-$VAR_DIR/keys}"
source "$ROOT/scripts/local-database.sh"

# Each service's ops port (/readyz, /metrics); METRICS_PORT is one name for all three, so it is set
# per service below.
API_METRICS_PORT="${API_METRICS_PORT:-9114}"
SIGNAL_METRICS_PORT="${SIGNAL_METRICS_PORT:-9116}"
RELAY_METRICS_PORT="${RELAY_METRICS_PORT:-9117}"

# What clients on other machines dial: this host's primary address unless configured.
public_host() {
  local address
  address="$(ip -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p' || true)"
  # hostname -I lists IPv6 ones too, which would need brackets in host:port: the first IPv4 one.
  [ -n "$address" ] || address="$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+(\.[0-9]+){3}$' || true)"
  echo "${address:-127.0.0.1}"
}
PUBLIC_HOST="$(public_host)"
export RELAY_PUBLIC_ADDR="${RELAY_PUBLIC_ADDR:-$PUBLIC_HOST:${RELAY_PORT:-21117}}"
SIGNAL_HOST="${SIGNAL_HOST:-$PUBLIC_HOST}"
API_PORT_NUMBER="${API_PORT:-21114}"

# On a terminal the services' logs are readable (and coloured, see below) lines, not JSON: their own
# stdout is the pipe to sed, so they cannot tell.
on_terminal=false
if [ -t 1 ]; then
  on_terminal=true
  export LOG_FORMAT="${LOG_FORMAT:-pretty}"
fi

require_node
install_dependencies
generate_prisma_client
build_if_stale
ensure_local_services
mkdir -p "$KEY_DIR"

# The api and signal run under their least-privilege roles (docs/architecture.md, "Database roles"),
# which the migrations create and give the passwords API_DATABASE_URL and SIGNAL_DATABASE_URL carry.
# With a DATABASE_URL of your own, set those two as well, or both services keep using DATABASE_URL.
if [ -z "${DATABASE_URL:-}" ]; then use_local_database; fi

say "Migrating the database"
node dist/libs/data-access/src/migrations/cli.js

say "Ensuring the server key pair (hbbs format) in $KEY_DIR"
SERVER_KEY="$(node dist/apps/signal/src/main.js keys)"

say "Ensuring a first admin"
node dist/apps/api/src/bootstrap/cli.js

# TLS (docs/tls.md): `TLS=self-signed` makes a certificate for this machine once and serves it;
# `TLS=files`, or TLS_CERT_FILE and TLS_KEY_FILE set without TLS, serves an operator's pair. The
# services then default to HTTPS only for the api and TLS beside plain TCP (dual) on the RustDesk
# ports. TLS unset and no certificate: everything plain, as before.
self_signed=false
case "${TLS:-}" in
  "") ;;
  self-signed)
    self_signed=true
    export TLS_CERT_FILE="$VAR_DIR/tls/server.crt" TLS_KEY_FILE="$VAR_DIR/tls/server.key"
    say "Ensuring a self-signed certificate in $VAR_DIR/tls"
    # The names clients dial: this machine's, the address the banner gives and TLS_PUBLIC_HOSTS.
    IFS=',' read -r -a extra_hosts <<<"${TLS_PUBLIC_HOSTS:-}"
    node dist/libs/tls/src/self-signed-cli.js "$TLS_CERT_FILE" "$TLS_KEY_FILE" \
      localhost 127.0.0.1 ::1 "$(hostname)" "$PUBLIC_HOST" "${extra_hosts[@]}"
    # Signal calls the api over HTTPS (API_URL below): the services trust this certificate besides
    # Node's own roots. Node takes one extra file, so one already configured gets it appended.
    extra_ca="${NODE_EXTRA_CA_CERTS:-}"
    if [ -n "$extra_ca" ] && [ "$extra_ca" != "$TLS_CERT_FILE" ] && [ -r "$extra_ca" ]; then
      cat "$extra_ca" "$TLS_CERT_FILE" >"$VAR_DIR/tls/trusted.pem"
      export NODE_EXTRA_CA_CERTS="$VAR_DIR/tls/trusted.pem"
    else
      export NODE_EXTRA_CA_CERTS="$TLS_CERT_FILE"
    fi
    ;;
  files)
    if [ -z "${TLS_CERT_FILE:-}" ] || [ -z "${TLS_KEY_FILE:-}" ]; then
      echo "TLS=files needs TLS_CERT_FILE and TLS_KEY_FILE (PEM: the certificate and its chain, the key)" >&2
      exit 64
    fi
    ;;
  *)
    echo "TLS must be self-signed or files, not '$TLS' (docs/tls.md)" >&2
    exit 64
    ;;
esac
tls_enabled=false
[ -n "${TLS_CERT_FILE:-}" ] && tls_enabled=true
# The api serves HTTPS only once it has a certificate, unless API_TLS=off.
api_scheme=http
[ "$tls_enabled" = true ] && [ "${API_TLS:-on}" != off ] && api_scheme=https
# Signal forwards the client API calls a client tunnels through it (HttpProxyRequest) to this api.
# Over HTTPS the name must be one the certificate holds: the self-signed one names 127.0.0.1, an
# operator's certificate names PUBLIC_URL's host.
if [ "$api_scheme" = https ] && [ "$self_signed" = false ] && [ -n "${PUBLIC_URL:-}" ]; then
  export API_URL="${API_URL:-${PUBLIC_URL%/}}"
else
  export API_URL="${API_URL:-$api_scheme://127.0.0.1:$API_PORT_NUMBER}"
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
# A requested stop is a clean one; the EXIT trap covers a service dying or this script failing.
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# Each service's own database URL (the relay has none); an empty one falls back to the default.
database_url_of() {
  case "$1" in
    api) echo "${API_DATABASE_URL:-${DATABASE_URL:-}}" ;;
    signal) echo "${SIGNAL_DATABASE_URL:-${DATABASE_URL:-}}" ;;
    *) echo "" ;;
  esac
}
metrics_port_of() {
  case "$1" in
    api) echo "$API_METRICS_PORT" ;;
    signal) echo "$SIGNAL_METRICS_PORT" ;;
    relay) echo "$RELAY_METRICS_PORT" ;;
  esac
}

if [ "$on_terminal" = true ] && [ -z "${NO_COLOR:-}" ]; then export FORCE_COLOR=1; fi
# sed ignores Ctrl-C (sent to the whole foreground group) so the services' last lines still show.
# The URLs go in the environment, not on a command line (`env URL=...`) where ps would show them.
for service in api signal relay; do
  DATABASE_URL="$(database_url_of "$service")" METRICS_PORT="$(metrics_port_of "$service")" \
    node "dist/apps/$service/src/main.js" > >(trap '' INT TERM && exec sed -u "s/^/[$service] /") 2>&1 &
  pids+=("$!")
done

# Where this script reaches a service listening on $1: a wildcard through loopback.
local_address() { case "$1" in 0.0.0.0 | ::) echo 127.0.0.1 ;; *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }
ops_host="$(local_address "${METRICS_HOST:-127.0.0.1}")"
readyz_urls=()
for port in "$API_METRICS_PORT" "$SIGNAL_METRICS_PORT" "$RELAY_METRICS_PORT"; do
  readyz_urls+=("http://$ops_host:$port/readyz")
done

# The HTTP status of each URL, one a line (000 when there is no answer).
http_status() {
  node -e '
    Promise.all(process.argv.slice(1).map((url) =>
      fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0),
    )).then((codes) => console.log(codes.map((c) => String(c).padStart(3, "0")).join("\n")));
  ' "$@"
}
all_ready() { [ "$(http_status "${readyz_urls[@]}" | sort -u)" = 200 ]; }
all_running() { for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done; }

# What the banner says about TLS: nothing without it.
tls_notice() {
  [ "$tls_enabled" = true ] || return 0
  if [ "${SIGNAL_TLS:-dual}" = dual ] && [ "${RELAY_TLS:-dual}" = dual ]; then
    cat <<'TEXT'
The ID server and relay take TLS and plain TCP on the same ports (dual mode): stock RustDesk clients
keep working on plain TCP, where their NaCl key exchange with the Key above secures each session.
TEXT
  fi
  if [ "$self_signed" = true ]; then
    cat <<TEXT
TLS clients must trust $TLS_CERT_FILE.
Stock RustDesk clients reject a self-signed certificate for the API server (https://) and WebSocket
(wss://) unless their option allow-insecure-tls-fallback=Y, which a strategy can push; it turns
certificate checks off for those connections (docs/tls.md "Self-signed quick start").
TEXT
  fi
}

waited=0
until all_ready; do
  all_running || break
  sleep 1
  waited=$((waited + 1))
  if [ "$waited" = 120 ]; then echo "Still waiting for every service's /readyz (${readyz_urls[*]})" >&2; fi
done

if all_running; then
  api_url="${PUBLIC_URL:-$api_scheme://127.0.0.1:$API_PORT_NUMBER}"
  api_url="${api_url%/}"
  page_line="" docs_line="" tls_lines="" tls_text=""
  # The console, when it was built and the api serves it. Without PUBLIC_URL it is named on
  # localhost: its session cookies are Secure, which browsers keep over plain http only there.
  # Over HTTPS this only asks whether the page is served here: an operator's certificate need not
  # name the loopback address, so it is not checked (and Node's warning about that is dropped).
  if [ -f dist/apps/web/index.html ] &&
    [ "$(NODE_TLS_REJECT_UNAUTHORIZED=0 http_status "$api_scheme://$(local_address "${API_HOST:-0.0.0.0}"):$API_PORT_NUMBER/" 2>/dev/null)" = 200 ]; then
    console_url="${PUBLIC_URL:-$api_scheme://localhost:$API_PORT_NUMBER}"
    page_line="  web console       ${console_url%/}/ (sign in as the admin user)"$'\n'
  fi
  case "${API_DOCS_ENABLED:-false}" in
    1 | [Tt]rue | TRUE | [Yy]es | YES | [Oo]n | ON | [Yy]) docs_line="  API docs          $api_url/api/docs"$'\n' ;;
  esac
  signal_port="${SIGNAL_PORT:-21116}"
  relay_port="${RELAY_PORT:-21117}"
  if [ "$tls_enabled" = true ]; then
    tls_lines="  TLS certificate   $TLS_CERT_FILE$([ "$self_signed" = true ] && echo ' (self-signed)')"$'\n'
    notice="$(tls_notice)"
    [ -z "$notice" ] || tls_text="$notice"$'\n\n'
    tls_lines+="  TLS modes         api ${API_TLS:-on}; ID server ${SIGNAL_TLS:-dual}, WebSocket ${SIGNAL_WS_TLS:-dual}; relay ${RELAY_TLS:-dual}, WebSocket ${RELAY_WS_TLS:-dual}"$'\n'
  fi
  cat <<MSG

Switchboard is ready:
${page_line}  API               $api_url/api/v1
${docs_line}  admin user        ${ADMIN_USERNAME:-admin} (a new admin's one-time password is printed above, once)
  ID server         $SIGNAL_HOST:$signal_port (TCP+UDP), NAT test ${SIGNAL_NAT_PORT:-$((signal_port - 1))}, WebSocket ${SIGNAL_WS_PORT:-$((signal_port + 2))}
  relay server      $RELAY_PUBLIC_ADDR, WebSocket ${RELAY_WS_PORT:-$((relay_port + 2))}
${tls_lines}  Key for clients   $SERVER_KEY

${tls_text}Clients on other machines dial the ID server and relay above; set SIGNAL_HOST and RELAY_PUBLIC_ADDR
if they must use another address. Press Ctrl-C to stop.
MSG
fi

# Exit (and stop the others) as soon as any service dies.
set +e
wait -n "${pids[@]}"
status=$?
echo "A service exited with status $status; stopping the others." >&2
exit "$status"
