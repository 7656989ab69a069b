#!/bin/bash
# Stand-in for the official MariaDB image's entrypoint (offline tests only). On an empty
# data directory: installs the system tables, sets the root password (root@localhost and
# root@'%'), creates MARIADB_DATABASE and MARIADB_USER (all privileges on that database), a
# healthcheck account, runs /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz, then starts the
# server. Every variable may come from a file named by VAR_FILE.
set -euo pipefail

note() { echo "$(date -u +%FT%TZ) [stand-in entrypoint] $*"; }
die() { echo "$(date -u +%FT%TZ) [stand-in entrypoint] error: $*" >&2; exit 1; }

file_env() {
    local var=$1 file_var="${1}_FILE"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        die "both $var and $file_var are set (but are exclusive)"
    fi
    if [ -n "${!file_var:-}" ]; then
        [ -r "${!file_var}" ] || die "$file_var names ${!file_var}, which cannot be read"
        export "$var"="$(< "${!file_var}")"
        unset "$file_var"
    fi
}

sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }

if [ "${1:-}" != mariadbd ] && [ "${1:-}" != mysqld ]; then
    exec "$@"
fi

for v in MARIADB_ROOT_PASSWORD MARIADB_DATABASE MARIADB_USER MARIADB_PASSWORD; do
    file_env "$v"
done

if [ "$(id -u)" = 0 ]; then
    chown mysql:mysql /var/lib/mysql /run/mysqld
    exec setpriv --reuid=mysql --regid=mysql --init-groups "$BASH_SOURCE" "$@"
fi

datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
if [ ! -d "$datadir/mysql" ]; then
    [ -n "${MARIADB_ROOT_PASSWORD:-}" ] || die "database is uninitialized and MARIADB_ROOT_PASSWORD is not set"
    note "initializing $datadir"
    mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
        --skip-test-db --skip-name-resolve >/dev/null
    "$@" --skip-networking --socket="$socket" &
    pid=$!
    for _ in $(seq 60); do
        mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1 && break
        sleep 0.5
    done
    hc_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    {
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        echo "DELETE FROM mysql.global_priv WHERE User = '';"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");"
        echo "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        echo "CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY '$hc_password';"
        echo "GRANT USAGE ON *.* TO 'healthcheck'@'localhost';"
        if [ -n "${MARIADB_DATABASE:-}" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
        fi
        if [ -n "${MARIADB_USER:-}" ] && [ -n "${MARIADB_PASSWORD:-}" ]; then
            echo "CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");"
            if [ -n "${MARIADB_DATABASE:-}" ]; then
                echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO $(sql_string "$MARIADB_USER")@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --socket="$socket" -uroot
    printf '[client]\nuser=healthcheck\npassword=%s\nsocket=%s\n' "$hc_password" "$socket" \
        > "$datadir/.my-healthcheck.cnf"
    chmod 0600 "$datadir/.my-healthcheck.cnf"
    client=(mariadb --socket="$socket" -uroot -p"$MARIADB_ROOT_PASSWORD")
    [ -z "${MARIADB_DATABASE:-}" ] || client+=("$MARIADB_DATABASE")
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) note "running $f"; . "$f" ;;
            *.sql) note "running $f"; "${client[@]}" < "$f" ;;
            *.sql.gz) note "running $f"; gunzip -c "$f" | "${client[@]}" ;;
            *) [ ! -e "$f" ] || note "ignoring $f" ;;
        esac
    done
    mariadb-admin --socket="$socket" -uroot -p"$MARIADB_ROOT_PASSWORD" shutdown
    wait "$pid" || true
    note "initialized"
fi
exec "$@"
