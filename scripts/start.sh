#!/usr/bin/env bash
# Quick start: install what is missing, migrate, create keys and a first admin, then run
# api, signal and relay in the foreground on local Postgres and Redis. Ctrl-C stops all three.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_node
install_dependencies
generate_prisma_client
build
ensure_local_services

export KEY_DIR="${KEY_DIR:-$ROOT/var/keys}"
mkdir -p "$KEY_DIR"

# The api and signal run under their least-privilege roles (docs/architecture.md, "Database roles"),
# which the migrations create. The local server trusts local connections, so they need no password;
# with a DATABASE_URL of your own, set API_DATABASE_URL and SIGNAL_DATABASE_URL (the migration run
# gives those roles the passwords the URLs carry), or both services keep using DATABASE_URL.
if [ -z "${DATABASE_URL:-}" ]; then
  export API_DATABASE_URL="${API_DATABASE_URL:-postgresql://switchboard_api@127.0.0.1:5432/switchboard}"
  export SIGNAL_DATABASE_URL="${SIGNAL_DATABASE_URL:-postgresql://switchboard_signal@127.0.0.1:5432/switchboard}"
fi

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
trap stop_all INT TERM EXIT

# Each service's own database URL (the relay has none); an empty one falls back to the default.
database_url_of() {
  case "$1" in
    api) echo "${API_DATABASE_URL:-${DATABASE_URL:-}}" ;;
    signal) echo "${SIGNAL_DATABASE_URL:-${DATABASE_URL:-}}" ;;
    *) echo "" ;;
  esac
}

for service in api signal relay; do
  DATABASE_URL="$(database_url_of "$service")" \
    node "dist/apps/$service/src/main.js" > >(sed -u "s/^/[$service] /") 2>&1 &
  pids+=("$!")
done

cat <<MSG

Switchboard is starting:
  console and API   http://127.0.0.1:${API_PORT:-21114}/   (health: /healthz)
  ID server         ${SIGNAL_HOST:-127.0.0.1}:${SIGNAL_PORT:-21116} (TCP+UDP), NAT test 21115, WebSocket 21118
  relay server      ${RELAY_PUBLIC_ADDR:-127.0.0.1:21117}, WebSocket 21119
  Key for clients   $SERVER_KEY

Press Ctrl-C to stop.
MSG

# Exit (and stop the others) as soon as any service dies.
wait -n "${pids[@]}"
status=$?
echo "A service exited with status $status; stopping the others." >&2
exit "$status"
