#!/bin/sh
# `migrate` service (one-shot, after the database is healthy): create or upgrade the schema,
# (re)grant the sensor user exactly its privileges, make the coming days' partitions, and on
# the very first start create the first administrator with a random password, printed once.
set -eu
. /usr/local/lib/callsift/secrets.sh
umask 027

if [ -z "${CALLSIFT_DB_URL:-}" ]; then
    CALLSIFT_DB_URL="mysql://root:$(secret admin/db-root-password)@$DB_HOST:3306/$DB_NAME"
fi
export CALLSIFT_DB_URL

callsift db migrate
if [ -z "${CALLSIFT_SENSOR_DB_URL:-}" ]; then  # the stack's own sensor user
    CALLSIFT_SENSOR_PASSWORD=$(secret admin/db-sensor-password) \
        callsift db grant-sensor --user "${CALLSIFT_SENSOR_DB_USER:-callsift_sensor}"
fi
callsift db maintain --retention-days "${CALLSIFT_DB_RETENTION_DAYS:-90}"
exec /usr/local/lib/callsift/first-admin.sh
