#!/bin/sh
# `secrets` service, first thing on every start: generate what the stack needs and nobody
# typed (database passwords, the token and session signing keys) into the `secrets` volume.
# Idempotent: what exists is kept. Runs as root with only CHOWN, DAC_OVERRIDE and FOWNER, to
# hand each service a directory only its own user can read:
#   db/      root   the originals; the MariaDB entrypoint reads its passwords here
#   admin/   10003  migrate/maintain: the root password, the sensor user's password
#   api/     10001  the API's database password and token-signing key
#   gui/     10002  the GUI's session-signing key
#   sensor/  0      the sensor's database password
set -eu
. /usr/local/lib/callsift/secrets.sh
umask 077

API_UID=10001
GUI_UID=10002
ADMIN_UID=10003

mkdir -p "$SECRETS_DIR/db"
chmod 0711 "$SECRETS_DIR"
chmod 0700 "$SECRETS_DIR/db"

new_secret() {  # new_secret NAME: db/NAME, generated once
    if [ ! -s "$SECRETS_DIR/db/$1" ]; then
        python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$SECRETS_DIR/db/$1.tmp"
        mv "$SECRETS_DIR/db/$1.tmp" "$SECRETS_DIR/db/$1"
        echo "secrets: generated $1"
    fi
}

hand_out() {  # hand_out DIR UID FILE=ORIGINAL...: DIR/FILE copies, readable by UID only
    dir=$SECRETS_DIR/$1
    uid=$2
    shift 2
    mkdir -p "$dir"
    for pair in "$@"; do
        cp "$SECRETS_DIR/db/${pair#*=}" "$dir/${pair%%=*}"
        chmod 0400 "$dir/${pair%%=*}"
        chown "$uid:$uid" "$dir/${pair%%=*}"
    done
    chmod 0700 "$dir"
    chown "$uid:$uid" "$dir"
}

for name in root-password password sensor-password api-secret-key gui-secret-key; do
    new_secret "$name"
done
hand_out admin "$ADMIN_UID" db-root-password=root-password db-sensor-password=sensor-password
hand_out api "$API_UID" db-password=password secret-key=api-secret-key
hand_out gui "$GUI_UID" secret-key=gui-secret-key
hand_out sensor 0 db-password=sensor-password
echo "secrets: ready in the volume mounted at $SECRETS_DIR"

# The spool: written by the sensors (root, group callsift 10001), read by the API (10001,
# read-only). `.imports` is where the API's own volume for capture imports is mounted.
SPOOL=${CALLSIFT_SPOOL_DIR:-/var/spool/callsift}
if [ -d "$SPOOL" ]; then
    chown 0:10001 "$SPOOL"
    chmod 2750 "$SPOOL"
    mkdir -p "$SPOOL/.imports"
    chmod 0750 "$SPOOL/.imports"
    echo "spool: ready"
fi
