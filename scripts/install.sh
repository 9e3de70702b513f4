#!/usr/bin/env bash
# Installs Switchboard from an unpacked release archive (scripts/release.sh) on a systemd host, with
# no network access: everything it needs is in the archive, apart from Node.js 20.19+ at
# /usr/bin/node, PostgreSQL and Redis.
#
#   sudo ./scripts/install.sh            install or upgrade; starts nothing
#   sudo ./scripts/install.sh --start    and start migrate, signal, api and relay@relay-1
#   ./scripts/install.sh --root DIR      lay the files out under DIR (packaging, tests): no users,
#                                        no ownership changes, no systemctl. DESTDIR=DIR works too.
#
# Existing files in /etc/switchboard are never overwritten; an upgrade installs the new version beside
# the old ones and moves the `current` symlink (roll back by pointing it at the old one).
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DEST_ROOT="${DESTDIR:-}"
START=false

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) DEST_ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --root=*) DEST_ROOT="${1#--root=}"; shift ;;
    --start) START=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 64 ;;
  esac
done
# An absolute root without a trailing slash, so "$ROOT/etc" is always a path.
if [ -n "$DEST_ROOT" ]; then
  mkdir -p "$DEST_ROOT"
  DEST_ROOT="$(cd "$DEST_ROOT" && pwd)"
  [ "$DEST_ROOT" != / ] || DEST_ROOT=""
fi
SYSTEM=true # a real installation: users, owners, systemctl
[ -z "$DEST_ROOT" ] || SYSTEM=false

say() { printf '==> %s\n' "$*"; }
fail() { echo "install.sh: $*" >&2; exit 1; }

[ -f "$SOURCE/VERSION" ] && [ -d "$SOURCE/dist" ] && [ -d "$SOURCE/node_modules" ] ||
  fail "run me from an unpacked release archive (VERSION, dist/, node_modules/ beside scripts/)"
VERSION="$(head -n1 "$SOURCE/VERSION")"
[[ "$VERSION" =~ ^[0-9A-Za-z.+_-]+$ ]] || fail "VERSION holds no usable version: '$VERSION'"

if $SYSTEM; then
  [ "$(id -u)" = 0 ] || fail "needs root (or --root DIR to lay the files out elsewhere)"
fi
if [ -x /usr/bin/node ]; then
  node_major="$(/usr/bin/node -p 'process.versions.node.split(".")[0]')"
  [ "$node_major" -ge 20 ] || echo "warning: /usr/bin/node is $(/usr/bin/node -v); Switchboard needs 20.19 or newer" >&2
else
  echo "warning: no /usr/bin/node; the units run it from there (Node.js 20.19+, e.g. Debian's nodejs)" >&2
fi

OPT="$DEST_ROOT/opt/switchboard"
ETC="$DEST_ROOT/etc/switchboard"
STATE="$DEST_ROOT/var/lib/switchboard"
UNITS="$DEST_ROOT/etc/systemd/system"

# One group the services share for the files they must all read (the control keys, signal's public
# key); one user each, so that no service can read another's secrets.
if $SYSTEM; then
  getent group switchboard >/dev/null || groupadd --system switchboard
  for user in switchboard-api switchboard-signal switchboard-relay; do
    getent passwd "$user" >/dev/null ||
      useradd --system --gid switchboard --home-dir /var/lib/switchboard --no-create-home \
        --shell /usr/sbin/nologin --comment "Switchboard ${user#switchboard-}" "$user"
  done
fi
# owner user:group mode path… : only on a real installation.
own() {
  local owner="$1" mode="$2"; shift 2
  chmod "$mode" "$@"
  if $SYSTEM; then chown "$owner" "$@"; fi
}

say "Installing Switchboard $VERSION into $OPT/$VERSION"
mkdir -p "$OPT"
[ "$SOURCE" != "$(cd "$OPT" && pwd -P)/$VERSION" ] || fail "run me from the unpacked archive, not from $OPT/$VERSION"
staging="$(mktemp -d "$OPT/.install-XXXXXX")"
trap 'rm -rf "$staging"' EXIT
cp -a "$SOURCE/." "$staging/"
# Code is root's and read-only to the services: a compromised service cannot rewrite itself.
chmod -R u=rwX,go=rX "$staging"
if $SYSTEM; then chown -R root:root "$staging"; fi
# Reinstalling the same version replaces it whole, never merges two trees.
if [ -e "$OPT/$VERSION" ]; then rm -rf "$OPT/.replaced-$VERSION" && mv "$OPT/$VERSION" "$OPT/.replaced-$VERSION"; fi
mv "$staging" "$OPT/$VERSION"
trap - EXIT
rm -rf "$OPT/.replaced-$VERSION"
ln -sfn "$VERSION" "$OPT/current"

say "Configuration in $ETC (existing files are kept)"
mkdir -p "$ETC"
own root:switchboard 0750 "$ETC"
install_env() { # source-name target-name
  local target="$ETC/$2"
  if [ -e "$target" ]; then
    echo "    kept $target"
  else
    cp "$SOURCE/deploy/systemd/env/$1" "$target"
    # Secrets: only root reads them (systemd does, before it drops privileges).
    own root:root 0640 "$target"
    echo "    wrote $target"
  fi
}
for name in common migrate api signal relay; do install_env "$name.env" "$name.env"; done
install_env relay-instance.env relay-relay-1.env

say "State in $STATE"
mkdir -p "$STATE/control" "$STATE/public"
own root:root 0755 "$STATE"
# control/: the bootstrap writes the public event key; signal and relays read it and the registry key.
own switchboard-api:switchboard 0750 "$STATE/control"
# public/: signal publishes its public key here for the relays and the api; never its secret key.
own switchboard-signal:switchboard 0750 "$STATE/public"
# The key relay node records are MACed with. Made here rather than by the bootstrap so that it is
# group-readable (the bootstrap writes 0600 for its own user); the bootstrap finds and keeps it.
registry_key="$STATE/control/relay_registry.key"
if [ ! -s "$registry_key" ]; then
  (umask 0037 && head -c 32 /dev/urandom | base64 -w0 >"$registry_key" && echo >>"$registry_key")
  own switchboard-api:switchboard 0640 "$registry_key"
fi
# api/ and signal/ are the units' StateDirectory: systemd creates them, mode 0700, for their user.

say "systemd units in $UNITS"
mkdir -p "$UNITS"
for unit in "$SOURCE"/deploy/systemd/*.service; do
  cp "$unit" "$UNITS/"
  chmod 0644 "$UNITS/$(basename "$unit")"
done

if $SYSTEM && [ ! -d /run/systemd/system ]; then
  # An image build or a chroot: the units are in place for when the machine boots with systemd.
  echo "warning: systemd is not running here: the units are installed, but nothing was reloaded or started" >&2
elif $SYSTEM; then
  systemctl daemon-reload
  if $START; then
    say "Starting: migrate, signal, api, relay@relay-1"
    systemctl start switchboard-migrate.service
    systemctl enable --now switchboard-signal.service switchboard-api.service switchboard-relay@relay-1.service
  fi
fi

cat <<EOF

Switchboard $VERSION is installed in $OPT/current. Next steps:
  1. PostgreSQL: a role that owns a database, e.g. (as postgres)
       createuser --createrole --pwprompt switchboard && createdb --owner switchboard switchboard
     Redis: the users of deploy/redis/users.acl.template. Put the URLs and passwords into
     $ETC/migrate.env, api.env, signal.env and relay.env.
  2. Each relay: $ETC/relay-<id>.env with its public RELAY_PUBLIC_ADDR and ports
     (relay-relay-1.env is an example), then switchboard-relay@<id>.
  3. Migrate and create the first admin (its one-time password is in the journal):
       systemctl start switchboard-migrate && journalctl -u switchboard-migrate -o cat
  4. Start the services:
       systemctl enable --now switchboard-signal switchboard-api switchboard-relay@relay-1
  5. The Key for RustDesk clients: cat /var/lib/switchboard/public/id_ed25519.pub
See $OPT/current/docs/bare-metal.md.
EOF
