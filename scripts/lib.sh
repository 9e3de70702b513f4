# Shared steps of scripts/start.sh and scripts/test.sh: make a fresh clone runnable without
# assuming anything was installed or left running by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=true
# Prisma's CLI wants a schema-engine binary even for `generate`, which does not use it.
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-/bin/true}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

require_node() {
  if ! command -v node >/dev/null 2>&1; then
    say "Installing Node.js and npm (Debian packages)"
    as_root apt-get update -qq && as_root apt-get install -y -qq nodejs npm
  fi
  local major; major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 20 ]; then echo "Node.js 20.19 or newer is required (found $(node -v))" >&2; exit 1; fi
}

install_dependencies() {
  # Only when node_modules does not hold what the lockfile pins. `npm install` rather than `npm ci`:
  # the lockfile cannot list other platforms' optional binaries (swc, buf, nx) when the registry in
  # reach serves only this platform's, and `npm ci` refuses such a lockfile; `npm install` still
  # installs exactly the locked versions.
  if ! dependencies_installed; then
    say "Installing npm dependencies"
    npm install --no-audit --no-fund --loglevel=error
  fi
}

# Whether node_modules matches package-lock.json: every locked package is installed at its locked
# version (npm records what it installed in node_modules/.package-lock.json), apart from optional ones
# (other platforms' binaries). Compared by content, since a checkout leaves the lockfile newer.
dependencies_installed() {
  [ -f node_modules/.package-lock.json ] || return 1
  [ node_modules/.package-lock.json -nt package-lock.json ] && return 0
  node -e '
    const locked = require("./package-lock.json").packages;
    const installed = require("./node_modules/.package-lock.json").packages;
    const stale = Object.entries(locked).filter(([path, entry]) =>
      path !== "" && (installed[path] ? installed[path].version !== entry.version : !entry.optional));
    process.exit(stale.length === 0 ? 0 : 1);
  '
}

generate_prisma_client() {
  local marker=libs/data-access/src/generated/prisma/client.ts
  if [ ! -f "$marker" ] || [ prisma/schema.prisma -nt "$marker" ]; then
    say "Generating the Prisma client"
    npx --no-install prisma generate >/dev/null
  fi
}

build() {
  say "Building (swc → dist/)"
  rm -rf dist
  npx --no-install swc apps libs bench -d dist --ignore '**/*.spec.ts,**/*.int-spec.ts,**/*.e2e-spec.ts,**/*.mjs,apps/web/**' --quiet
  say "Building the web console (vite → dist/apps/web)"
  npx --no-install vite build apps/web --logLevel warn
  # switchboard_build_info's revision (libs/observability metrics.ts); none outside a git checkout.
  printf '{"revision":"%s"}\n' "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" >dist/build-info.json
  touch dist/.built
}

# `npm start` rebuilds only when a source file, the schema or the lockfile changed since the last
# build. Besides a faster restart, this keeps a start from emptying dist/ under processes that serve
# from it, such as the console's browser tests beside the quick-start test. Files only, not folders:
# tests create and remove scratch files beside the sources, which touches their folders. (A deleted
# source leaves its compiled file behind until the next full build, which nothing imports.)
build_if_stale() {
  if [ -f dist/.built ] && [ -f dist/apps/web/index.html ] &&
    [ -z "$(find apps libs bench prisma package-lock.json -type f -newer dist/.built -print -quit)" ]; then
    say "Build is up to date (dist/)"
    return
  fi
  build
}

# The local PostgreSQL `npm start` uses when no DATABASE_URL is given: PGHOST (a TCP address) and
# PGPORT, as libpq names them.
PG_HOST="${PGHOST:-127.0.0.1}"
PG_PORT="${PGPORT:-5432}"

port_open() { node -e "const s=require('net').connect(+process.argv[2],process.argv[1]);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))" "$1" "$2"; }
pg_up() { port_open "$PG_HOST" "$PG_PORT"; }
redis_up() { port_open 127.0.0.1 6379; }

# Local Postgres and Redis (Debian packages) when no external ones are configured.
ensure_local_services() {
  if [ -z "${DATABASE_URL:-}" ] && ! pg_up; then
    if ! ls /etc/postgresql >/dev/null 2>&1; then
      say "Installing PostgreSQL"; as_root apt-get update -qq && as_root apt-get install -y -qq postgresql
    fi
    # The cluster that listens on PGPORT, else the newest version's `main`.
    local cluster
    cluster="$(pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }')"
    [ -n "$cluster" ] || cluster="$(ls /etc/postgresql | sort -V | tail -1) main"
    say "Starting PostgreSQL ($cluster)"
    # shellcheck disable=SC2086 # "version name", two arguments
    as_root pg_ctlcluster --skip-systemctl-redirect $cluster start || true
  fi
  if [ -z "${REDIS_URL:-}" ] && ! redis_up; then
    if ! command -v redis-server >/dev/null 2>&1; then
      say "Installing Redis"; as_root apt-get update -qq && as_root apt-get install -y -qq redis-server
    fi
    say "Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  fi
  for _ in $(seq 1 50); do
    { [ -n "${DATABASE_URL:-}" ] || pg_up; } && { [ -n "${REDIS_URL:-}" ] || redis_up; } && return 0
    sleep 0.2
  done
  echo "PostgreSQL ($PG_HOST:$PG_PORT) or Redis (127.0.0.1:6379) is not reachable" >&2
  exit 1
}
