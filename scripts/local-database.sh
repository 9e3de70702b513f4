# The database `npm start` uses when no DATABASE_URL is given: the local PostgreSQL at PGHOST:PGPORT
# (scripts/lib.sh). Sourced by scripts/start.sh after the build (it uses the built migrate library).
#
# - A server that lets `postgres` in without a password (a developer's trust setup) is used as before:
#   the owner `postgres`, the runtime roles switchboard_api and switchboard_signal without passwords.
# - A stock Debian/Ubuntu server (peer on the local socket, scram-sha-256 over TCP) gets, once, over
#   the socket as the postgres OS user, a `switchboard` role with a generated password (LOGIN CREATEDB,
#   and CREATEROLE since the migrations create the runtime roles) owning a `switchboard` database. The
#   three URLs, each with a generated password (the migrate CLI gives the runtime roles theirs), are
#   kept in $VAR_DIR/database-url (mode 0600) and reused by every later start.
# No password is ever printed or passed on a command line.

LOCAL_DATABASE=switchboard
LOCAL_OWNER_ROLE=switchboard
DATABASE_URL_FILE="$VAR_DIR/database-url"
DATABASE_URL_NAMES=(DATABASE_URL API_DATABASE_URL SIGNAL_DATABASE_URL)

# Exports DATABASE_URL, API_DATABASE_URL and SIGNAL_DATABASE_URL for a local server; values the caller
# exported already win.
use_local_database() {
  if use_kept_database; then
    say "Using the database settings kept in $DATABASE_URL_FILE"
    return 0
  fi
  if [ -f "$DATABASE_URL_FILE" ]; then
    say "The database settings in $DATABASE_URL_FILE are refused; setting the database up again"
  fi

  local server; server="$(url_host "$PG_HOST"):$PG_PORT"
  if database_accepts "postgresql://postgres@$server/postgres"; then
    export DATABASE_URL="postgresql://postgres@$server/$LOCAL_DATABASE"
    export API_DATABASE_URL="${API_DATABASE_URL:-postgresql://switchboard_api@$server/$LOCAL_DATABASE}"
    export SIGNAL_DATABASE_URL="${SIGNAL_DATABASE_URL:-postgresql://switchboard_signal@$server/$LOCAL_DATABASE}"
    return 0
  fi
  create_local_database "$server"
  if ! use_kept_database; then
    echo "PostgreSQL at $server refuses the role $LOCAL_OWNER_ROLE just created with its password;" \
      "does its pg_hba.conf allow password (scram-sha-256) logins from $PG_HOST?" >&2
    exit 1
  fi
}

# Exports the URLs kept in the file, if there is one and PostgreSQL accepts its owner URL.
use_kept_database() {
  [ -f "$DATABASE_URL_FILE" ] || return 1
  local -A kept=()
  local name value
  while IFS='=' read -r name value; do
    if [ -n "$name" ]; then kept["$name"]="$value"; fi
  done <"$DATABASE_URL_FILE"
  [ -n "${kept[DATABASE_URL]:-}" ] && database_accepts "${kept[DATABASE_URL]}" || return 1
  chmod 600 "$DATABASE_URL_FILE"
  for name in "${DATABASE_URL_NAMES[@]}"; do
    [ -n "${!name:-}" ] || export "$name=${kept[$name]:-}"
  done
}

# The role, its database and the kept file, on a server that wants passwords.
create_local_database() {
  local server="$1"
  case "$PG_HOST" in
    127.0.0.1 | localhost | ::1) ;;
    *)
      echo "PostgreSQL at $server asks for a password, and it is not this machine's to set one up:" \
        "set DATABASE_URL (see README.md, Quick start)" >&2
      exit 1
      ;;
  esac
  say "Creating role $LOCAL_OWNER_ROLE and database $LOCAL_DATABASE on $server (as the postgres OS user)"
  local owner_password api_password signal_password
  owner_password="$(new_password)"
  api_password="$(new_password)"
  signal_password="$(new_password)"
  # The SQL carries the password's SCRAM verifier, never the password, so no server log can show it.
  if ! OWNER_PASSWORD="$owner_password" owner_role_sql | as_postgres_psql; then
    echo "Could not create the database role as the postgres OS user (run as root or with sudo rights)," \
      "or set DATABASE_URL (see README.md, Quick start)" >&2
    exit 1
  fi
  mkdir -p "$VAR_DIR"
  local file_in_progress="$DATABASE_URL_FILE.$$"
  (
    umask 077
    printf 'DATABASE_URL=%s\nAPI_DATABASE_URL=%s\nSIGNAL_DATABASE_URL=%s\n' \
      "postgresql://$LOCAL_OWNER_ROLE:$owner_password@$server/$LOCAL_DATABASE" \
      "postgresql://switchboard_api:$api_password@$server/$LOCAL_DATABASE" \
      "postgresql://switchboard_signal:$signal_password@$server/$LOCAL_DATABASE" >"$file_in_progress"
  )
  chmod 600 "$file_in_progress"
  mv "$file_in_progress" "$DATABASE_URL_FILE"
  say "Kept the database settings, passwords included, in $DATABASE_URL_FILE (mode 0600)"
}

owner_role_sql() {
  local verifier
  verifier="$(node -e '
    const { scramSha256Verifier } = require("./dist/libs/data-access/src/migrations/runtime-roles.js");
    process.stdout.write(scramSha256Verifier(process.env.OWNER_PASSWORD));
  ')"
  cat <<SQL
SELECT 'CREATE ROLE $LOCAL_OWNER_ROLE'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$LOCAL_OWNER_ROLE') \gexec
ALTER ROLE $LOCAL_OWNER_ROLE LOGIN CREATEDB CREATEROLE PASSWORD '$verifier';
SELECT 'CREATE DATABASE $LOCAL_DATABASE OWNER $LOCAL_OWNER_ROLE'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$LOCAL_DATABASE') \gexec
SQL
}

# psql as the postgres OS user over the local socket of PGPORT's server, reading SQL from stdin.
as_postgres_psql() {
  local psql=(env -u PGHOST -u PGUSER -u PGDATABASE -u PGPASSWORD -u PGSERVICE
    psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres)
  (
    cd / # the postgres user may not be allowed into the current directory
    if [ "$(id -un)" = postgres ]; then
      "${psql[@]}"
    elif [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "${psql[@]}"
    else
      sudo -u postgres -- "${psql[@]}"
    fi
  )
}

# Whether PostgreSQL lets the URL in (read from the environment, so it shows in no process list).
database_accepts() {
  PROBE_DATABASE_URL="$1" node -e '
    const client = new (require("pg").Client)({
      connectionString: process.env.PROBE_DATABASE_URL,
      connectionTimeoutMillis: 10000,
    });
    client.on("error", () => undefined);
    client.connect().then(() => client.query("SELECT 1")).then(
      () => client.end().then(() => process.exit(0)),
      () => process.exit(1),
    );
  '
}

new_password() { node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))'; }

url_host() { case "$1" in *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }
