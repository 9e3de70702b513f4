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

for service in api signal relay; do
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
