#!/bin/bash
# Stand-in for the official image's healthcheck.sh: --connect (the real server accepts
# connections: not the entrypoint's temporary one, which skips networking) and
# --innodb_initialized. Uses the healthcheck account the entrypoint created.
set -eu
cnf=/var/lib/mysql/.my-healthcheck.cnf
q() { mariadb --defaults-extra-file="$cnf" -N -B -e "$1"; }
[ "$#" -gt 0 ] || set -- --connect
for test in "$@"; do
    case "$test" in
        --connect) [ "$(q 'SELECT @@skip_networking')" = 0 ] ;;
        --innodb_initialized)
            [ "$(q "SELECT COUNT(*) FROM information_schema.ENGINES WHERE ENGINE = 'InnoDB' AND SUPPORT IN ('YES', 'DEFAULT')")" = 1 ] ;;
        *) echo "healthcheck.sh (stand-in): unsupported test $test" >&2; exit 2 ;;
    esac
done
