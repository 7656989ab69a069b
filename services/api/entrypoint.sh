#!/bin/sh
# `api` service: the REST API, reading the database as the stack's application user and the
# pcaps from the spool volume (read-only).
set -eu
. /usr/local/lib/callsift/secrets.sh

if [ -z "${CALLSIFT_DB_URL:-}" ]; then
    CALLSIFT_DB_URL="mysql://callsift:$(secret api/db-password)@$DB_HOST:3306/$DB_NAME"
fi
if [ -z "${CALLSIFT_SECRET_KEY:-}" ]; then
    CALLSIFT_SECRET_KEY=$(secret api/secret-key)
fi
export CALLSIFT_DB_URL CALLSIFT_SECRET_KEY
exec callsift api --host 0.0.0.0 --port 8000 --spool /var/spool/callsift "$@"
