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
# Signal forwards the client API calls a client tunnels through it (HttpProxyRequest) to this api.
export API_URL="${API_URL:-http://127.0.0.1:${API_PORT:-21114}}"

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

waited=0
until all_ready; do
  all_running || break
  sleep 1
  waited=$((waited + 1))
  if [ "$waited" = 120 ]; then echo "Still waiting for every service's /readyz (${readyz_urls[*]})" >&2; fi
done

if all_running; then
  api_url="${PUBLIC_URL:-http://127.0.0.1:${API_PORT:-21114}}"
  api_url="${api_url%/}"
  page_line="" docs_line=""
  # The console, when it was built and the api serves it. Without PUBLIC_URL it is named on
  # localhost: its session cookies are Secure, which browsers keep over plain http only there.
  if [ -f dist/apps/web/index.html ] &&
    [ "$(http_status "http://$(local_address "${API_HOST:-0.0.0.0}"):${API_PORT:-21114}/")" = 200 ]; then
    console_url="${PUBLIC_URL:-http://localhost:${API_PORT:-21114}}"
    page_line="  web console       ${console_url%/}/ (sign in as the admin user)"$'\n'
  fi
  case "${API_DOCS_ENABLED:-false}" in
    1 | [Tt]rue | TRUE | [Yy]es | YES | [Oo]n | ON | [Yy]) docs_line="  API docs          $api_url/api/docs"$'\n' ;;
  esac
  signal_port="${SIGNAL_PORT:-21116}"
  relay_port="${RELAY_PORT:-21117}"
  cat <<MSG

Switchboard is ready:
${page_line}  API               $api_url/api/v1
${docs_line}  admin user        ${ADMIN_USERNAME:-admin} (a new admin's one-time password is printed above, once)
  ID server         $SIGNAL_HOST:$signal_port (TCP+UDP), NAT test ${SIGNAL_NAT_PORT:-$((signal_port - 1))}, WebSocket ${SIGNAL_WS_PORT:-$((signal_port + 2))}
  relay server      $RELAY_PUBLIC_ADDR, WebSocket ${RELAY_WS_PORT:-$((relay_port + 2))}
  Key for clients   $SERVER_KEY

Clients on other machines dial the ID server and relay above; set SIGNAL_HOST and RELAY_PUBLIC_ADDR
if they must use another address. Press Ctrl-C to stop.
MSG
fi

# Exit (and stop the others) as soon as any service dies.
set +e
wait -n "${pids[@]}"
status=$?
echo "A service exited with status $status; stopping the others." >&2
exit "$status"
