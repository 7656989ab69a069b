#!/bin/sh
# `sniffer` service: the live sensor on the host's network. Interfaces from CALLSIFT_INTERFACE
# (comma-separated; default: the interface of the default route, else `any`); the database
# through the MariaDB socket shared in a volume, unless CALLSIFT_DB_URL names one.
set -eu
. /usr/local/lib/callsift/secrets.sh
umask 027  # pcaps 0640, directories 0750: readable by the API's group, nobody else

if [ -z "${CALLSIFT_DB_URL:-}" ]; then
    socket=${CALLSIFT_DB_SOCKET:-/run/mysqld/mysqld.sock}
    auth="callsift_sensor:$(secret sensor/db-password)"
    if [ -S "$socket" ]; then  # on the host's network: the socket shared by the db service
        CALLSIFT_DB_URL="mysql://$auth@localhost/$DB_NAME?unix_socket=$socket"
    else
        CALLSIFT_DB_URL="mysql://$auth@$DB_HOST:3306/$DB_NAME"
    fi
fi
export CALLSIFT_DB_URL
interfaces=${CALLSIFT_INTERFACE:-}
if [ -z "$interfaces" ]; then
    interfaces=$(awk '$2 == "00000000" { print $1; exit }' /proc/net/route)
    interfaces=${interfaces:-any}
    echo "sniffer: CALLSIFT_INTERFACE not set: capturing on $interfaces (the default route's)"
fi
if [ "$interfaces" != none ]; then  # `none`: a receiver (mirror, HEP) that captures nothing
    export CALLSIFT_INTERFACES="$interfaces"
fi
exec callsift sniff "$@"
