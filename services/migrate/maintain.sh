#!/bin/sh
# `maintain` service: `callsift db maintain` now and then every CALLSIFT_MAINTAIN_INTERVAL_S
# (default daily): the coming days' partitions, and dropping those past the retention.
# The healthcheck fails when the last successful run is older than two intervals.
# `callsift-maintain once` runs it once (a Kubernetes CronJob) and exits with its status.
set -eu
. /usr/local/lib/callsift/secrets.sh

if [ -z "${CALLSIFT_DB_URL:-}" ]; then
    CALLSIFT_DB_URL="mysql://root:$(secret admin/db-root-password)@$DB_HOST:3306/$DB_NAME"
fi
export CALLSIFT_DB_URL
if [ "${1:-}" = once ]; then
    exec callsift db maintain --retention-days "${CALLSIFT_DB_RETENTION_DAYS:-90}"
fi
interval=${CALLSIFT_MAINTAIN_INTERVAL_S:-86400}
ok_file=${CALLSIFT_MAINTAIN_OK_FILE:-/tmp/callsift-maintain.ok}
trap 'exit 0' TERM INT
while :; do
    if callsift db maintain --retention-days "${CALLSIFT_DB_RETENTION_DAYS:-90}"; then
        : > "$ok_file"
    else
        echo "maintain: failed; next try in $interval s" >&2
    fi
    sleep "$interval" &
    wait $!
done
