# MariaDB from Debian's packages: a MySQL-protocol source for the extractors, with its own datadir in $RUN
# (the Debian package's /var/lib/mysql server is never used).
MARIADB_PORT=3306
MARIADB_USER=metasync
MARIADB_PASSWORD=metasync
MARIADB_DATA="$RUN/data/mariadb"
MARIADB_SOCKET="$RUN/mariadb.sock"
MARIADB_TLS="$RUN/data/mariadb-tls"   # its TLS certificate (CN and names localhost, 127.0.0.1), made once

# mariadbd refuses to run as root unless told to; any other user simply runs as itself.
mariadb_os_user() { id -un; }

mariadb_install() {
  [ -x /usr/sbin/mariadbd ] && return 0
  say "mariadb: installing Debian's mariadb-server (first run only)"
  apt_install mariadb-server
  # Where the package's maintainer scripts may start the system server, it would hold port 3306: stop it.
  service mariadb stop >/dev/null 2>&1 || true
}

# Over TCP as the provisioned user (a server, this checkout's or another, e.g. Docker's), or through this
# checkout's socket before provisioning: until then the server turns away every TCP client ("host not allowed").
mariadb_check() {
  mariadb-admin --no-defaults --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" --connect-timeout=2 \
    -u "$MARIADB_USER" -p"$MARIADB_PASSWORD" ping \
    || mariadb-admin --no-defaults --socket="$MARIADB_SOCKET" --connect-timeout=2 -u "$(mariadb_os_user)" ping
}

# A self-signed certificate, so sources can be read over TLS as in production: verify-full with this very
# certificate as the CA (SHOW VARIABLES LIKE 'ssl_cert' says where it is), or require. Made once, kept.
mariadb_tls() {
  [ -s "$MARIADB_TLS/server-cert.pem" ] && [ -s "$MARIADB_TLS/server-key.pem" ] && return 0
  mkdir -p "$MARIADB_TLS"
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$MARIADB_TLS/server-key.pem" -out "$MARIADB_TLS/server-cert.pem") >"$RUN/logs/mariadb-tls.log" 2>&1 \
    || fail "mariadb: openssl could not make its TLS certificate (log: .stack/logs/mariadb-tls.log)"
  chmod 644 "$MARIADB_TLS/server-cert.pem"
}

mariadb_start() {
  mariadb_tls
  if [ ! -f "$MARIADB_DATA/.initialised" ]; then
    # A datadir left half-made by an interrupted first start is made again from scratch.
    rm -rf "$MARIADB_DATA" && mkdir -p "$MARIADB_DATA"
    mariadb-install-db --no-defaults --user="$(mariadb_os_user)" --datadir="$MARIADB_DATA" --skip-test-db \
      >"$RUN/logs/mariadb-install.log" 2>&1 \
      || { tail -n 20 "$RUN/logs/mariadb-install.log" >&2; fail "mariadb: mariadb-install-db failed (log: .stack/logs/mariadb-install.log)"; }
    touch "$MARIADB_DATA/.initialised"
  fi
  port_open "$MARIADB_PORT" && fail "mariadb: port $MARIADB_PORT is taken by something this checkout did not start"
  # --no-defaults: Debian's /etc/mysql config points at the system datadir, pid file and socket.
  spawn mariadb /usr/sbin/mariadbd --no-defaults --user="$(mariadb_os_user)" --datadir="$MARIADB_DATA" \
    --pid-file="$MARIADB_DATA/mariadbd.pid" --socket="$MARIADB_SOCKET" --port="$MARIADB_PORT" \
    --bind-address=127.0.0.1 --skip-name-resolve \
    --ssl-cert="$MARIADB_TLS/server-cert.pem" --ssl-key="$MARIADB_TLS/server-key.pem" \
    --ssl-ca="$MARIADB_TLS/server-cert.pem" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
  wait_until mariadb 60 "$RUN/logs/mariadb.log" mariadb_check
}

# mariadb-install-db gave the OS user who ran it a unix_socket account: provisioning needs no password.
mariadb_provision() {
  mariadb --no-defaults --socket="$MARIADB_SOCKET" -u "$(mariadb_os_user)" <<SQL \
    || fail "mariadb: could not provision user $MARIADB_USER (through the socket $MARIADB_SOCKET)"
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'localhost' IDENTIFIED BY '$MARIADB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER'@'localhost' WITH GRANT OPTION;
SQL
}

mariadb_stop() { stop_pid mariadb; }

mariadb_where() { echo "mysql://$MARIADB_USER@127.0.0.1:$MARIADB_PORT, log .stack/logs/mariadb.log"; }
