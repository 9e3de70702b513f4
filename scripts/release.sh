#!/usr/bin/env bash
# Builds the bare-metal release: release/switchboard-<version>-linux-x64.tar.gz, which installs and
# runs with no network access (scripts/install.sh inside it; docs/bare-metal.md).
#
#   npm run release                      build, stage, pack
#   scripts/release.sh --reuse-build     use dist/ as it is when a build is there (tests after `npm test`'s build)
#   scripts/release.sh --no-archive      stage the folder only, no tarball
#   RELEASE_DIR=/tmp/r scripts/release.sh   put the folder and the archive elsewhere
#
# The production node_modules come from the registry (or npm's cache) with --omit=dev and
# --ignore-scripts; the Prisma client is the one generated into dist/, so no install script is
# needed, apart from argon2's where its prebuild does not load (below).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REUSE_BUILD=false
ARCHIVE=true
for argument in "$@"; do
  case "$argument" in
    --reuse-build) REUSE_BUILD=true ;;
    --no-archive) ARCHIVE=false ;;
    *) echo "unknown option: $argument" >&2; exit 64 ;;
  esac
done

require_node
if $REUSE_BUILD && [ -f dist/.built ] && [ -f dist/apps/web/index.html ]; then
  say "Using the existing build (dist/)"
else
  install_dependencies
  generate_prisma_client
  build
fi

VERSION="$(node -p 'require("./package.json").version')"
COMMIT="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$COMMIT" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  COMMIT="$COMMIT-dirty"
fi
case "$(uname -m)" in x86_64) ARCH=x64 ;; aarch64) ARCH=arm64 ;; *) ARCH="$(uname -m)" ;; esac
NAME="switchboard-$VERSION-linux-$ARCH"
OUT="${RELEASE_DIR:-$ROOT/release}"
STAGE="$OUT/$NAME"

say "Staging $STAGE"
rm -rf "$STAGE" "$OUT/$NAME.tar.gz" "$OUT/$NAME.tar.gz.sha256"
mkdir -p "$STAGE"
# The services and the console; not the test support, the e2e suites nor the benchmarks.
cp -a dist "$STAGE/dist"
rm -rf "$STAGE/dist/apps/e2e" "$STAGE/dist/bench" "$STAGE/dist/libs/testing" "$STAGE/dist/.built"
# The compiled client must be there: libs/data-access requires it at run time.
[ -f "$STAGE/dist/libs/data-access/src/generated/prisma/client.js" ] ||
  { echo "dist has no generated Prisma client (libs/data-access/src/generated)" >&2; exit 1; }

say "Production dependencies (npm install --omit=dev --omit=optional --ignore-scripts)"
cp package.json package-lock.json .npmrc "$STAGE/"
# `npm install`, not `npm ci`: see install_dependencies in lib.sh; the locked versions either way.
# --omit=optional drops what only dev tools pull in through optional peers (the prisma CLI with its
# studio, typescript: half the size) and optional accelerators the code does without.
(cd "$STAGE" && npm install --omit=dev --omit=optional --ignore-scripts --prefer-offline --no-audit \
  --no-fund --loglevel=error >/dev/null)
rm -f "$STAGE/.npmrc" "$STAGE/node_modules/.package-lock.json"
# argon2 is the one native module. Its bundled linux prebuild is used when it loads; where it does
# not (it crashes on load on some glibc hosts), argon2's own build compiles it here, which needs a C++
# toolchain on this machine but not on the servers. Tested in a child: a bad prebuild segfaults.
argon2_loads() { (cd "$STAGE" && node -e 'require("argon2").hash("probe").then(() => process.exit(0))' || exit 1); }
if ! argon2_loads 2>/dev/null; then
  say "argon2's prebuild does not load here: compiling it (npm rebuild argon2)"
  (cd "$STAGE" && npm rebuild argon2 --loglevel=error >/dev/null)
  (cd "$STAGE/node_modules/argon2/build" && find . -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} + &&
    find Release -mindepth 1 ! -name argon2.node -exec rm -rf {} +)
  argon2_loads || {
    echo "argon2 does not load from the staged node_modules" >&2; exit 1; }
fi

mkdir -p "$STAGE/prisma" "$STAGE/deploy" "$STAGE/scripts" "$STAGE/docs"
# The migration runner reads the committed SQL at run time (MIGRATIONS_DIR).
cp -a prisma/migrations "$STAGE/prisma/migrations"
cp -a deploy/systemd "$STAGE/deploy/systemd"
cp -a deploy/redis "$STAGE/deploy/redis"
cp scripts/install.sh "$STAGE/scripts/install.sh"
cp LICENSE README.md "$STAGE/"
for doc in bare-metal operations tls; do cp "docs/$doc.md" "$STAGE/docs/"; done
printf '%s\n%s\n' "$VERSION" "$COMMIT" >"$STAGE/VERSION"

if $ARCHIVE; then
  say "Packing $OUT/$NAME.tar.gz"
  tar -C "$OUT" --owner=0 --group=0 --numeric-owner --sort=name -czf "$OUT/$NAME.tar.gz" "$NAME"
  (cd "$OUT" && sha256sum "$NAME.tar.gz" >"$NAME.tar.gz.sha256")
  say "$(du -h "$OUT/$NAME.tar.gz" | cut -f1) $OUT/$NAME.tar.gz"
fi
