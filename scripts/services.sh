# Start and stop the servers the tests need, in throw-away folders. Sourced by ./dev.
# Nothing here survives the run; CI machines start empty.

_pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    echo "Installing PostgreSQL from Debian's packages …" >&2
    apt_install postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$dir"
}

_as_pg() {  # run as the postgres user when we are root (initdb refuses root)
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  local bindir
  PG_PORT=${LEADWERK_TEST_PG_PORT:-55432}
  bindir=$(_pg_bindir)
  PG_DATA=$(mktemp -d /tmp/leadwerk-pg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG_DATA"; fi
  _as_pg "$bindir/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  _as_pg "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -o \
    "-p $PG_PORT -k $PG_DATA -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
  export LEADWERK_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/leadwerk"
  export PG_BINDIR=$bindir PG_DATA
  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" >&2
}

postgres_stop() {
  if [ -n "${PG_DATA:-}" ] && [ -d "$PG_DATA" ]; then
    _as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DATA"
  fi
}
