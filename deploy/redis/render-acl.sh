#!/bin/sh
# Entry point of the Redis container in docker-compose.yml: fills users.acl.template (beside this
# script) with REDIS_KEY_PREFIX and the three service passwords from the environment, then runs
# redis-server on the result (`--aclfile`), passing on its own arguments.
set -eu
here=$(dirname "$0")
prefix=${REDIS_KEY_PREFIX:-switchboard}
for name in REDIS_API_PASSWORD REDIS_SIGNAL_PASSWORD REDIS_RELAY_PASSWORD; do
  eval "value=\${$name:-}"
  # Also what a redis:// URL carries without escaping.
  case "$value" in
    '' | *[!A-Za-z0-9._~-]*)
      echo "render-acl: $name must be set, using only letters, digits and . _ ~ -" >&2
      exit 78
      ;;
  esac
done
case "$prefix" in *[!A-Za-z0-9._:-]*) echo "render-acl: REDIS_KEY_PREFIX has unexpected characters" >&2; exit 78 ;; esac
umask 077
sed -e "s|\${REDIS_KEY_PREFIX}|$prefix|g" \
  -e "s|\${REDIS_API_PASSWORD}|$REDIS_API_PASSWORD|" \
  -e "s|\${REDIS_SIGNAL_PASSWORD}|$REDIS_SIGNAL_PASSWORD|" \
  -e "s|\${REDIS_RELAY_PASSWORD}|$REDIS_RELAY_PASSWORD|" \
  "$here/users.acl.template" | grep -v '^#' >/tmp/users.acl
exec redis-server "$@" --aclfile /tmp/users.acl
