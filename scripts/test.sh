#!/usr/bin/env bash
# Runs every check and every test tier (unit, integration against the real Postgres and Redis,
# end-to-end against the built services), installing whatever is missing first.
# Extra arguments go to Jest, e.g. `npm test -- libs/audit`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_node
install_dependencies
generate_prisma_client
if ! command -v docker-compose >/dev/null 2>&1; then
  say "Installing docker-compose (checks docker-compose.yml statically; no engine needed)"
  as_root apt-get update -qq && as_root apt-get install -y -qq docker-compose >/dev/null
fi
if ! command -v yamllint >/dev/null 2>&1; then
  say "Installing yamllint (checks the compose and Kubernetes YAML)"
  as_root apt-get update -qq && as_root apt-get install -y -qq yamllint >/dev/null
fi
if ! command -v promtool >/dev/null 2>&1; then
  say "Installing promtool (Debian's prometheus package; checks deploy/observability's alerts, runs nothing)"
  as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  say "Installing Chromium (Debian's; the console's browser tests drive it, nothing is downloaded)"
  as_root apt-get update -qq && as_root apt-get install -y -qq chromium >/dev/null
fi
ensure_local_services

say "Type check"
npx --no-install tsc -p tsconfig.json --noEmit
npx --no-install tsc -p apps/web/tsconfig.json --noEmit
say "Lint (type-aware ESLint with Nx module boundaries)"
# The boundary rule reads Nx's cached project graph and silently skips itself when there is none
# (a fresh clone), so build the graph first.
npx --no-install nx show projects >/dev/null
npx --no-install eslint . --max-warnings=0
say "Formatting"
npx --no-install prettier --check . --log-level warn
build

say "Tests: unit, integration, end-to-end"
results="$(mktemp)"
set +e
timeout 3600 npx --no-install jest --ci --maxWorkers=2 --json --outputFile="$results" "$@"
status=$?
set -e
# One plain closing line that any CI reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" 2>/dev/null || echo "jest: 0 passed, 1 failed"
rm -f "$results"
exit "$status"
