#!/bin/sh
# The first administrator, once per installation: a random password, printed once in this
# service's log (`docker compose logs migrate`), never stored. Needs `callsift users`.
set -eu
. /usr/local/lib/callsift/secrets.sh

name=${CALLSIFT_ADMIN_USER:-admin}
marker=${CALLSIFT_ADMIN_MARKER:-$SECRETS_DIR/admin/first-admin-created}
remember() { : > "$marker" 2>/dev/null || echo "migrate: cannot write $marker (harmless)"; }
if [ -e "$marker" ]; then
    exit 0
fi
if ! callsift users --help >/dev/null 2>&1; then
    echo "migrate: this callsift has no user management yet: no first administrator created"
    exit 0
fi
password=$(python -c 'import secrets; print(secrets.token_urlsafe(18))')
if ! err=$(printf '%s\n' "$password" | callsift users create "$name" --role admin 2>&1); then
    case "$err" in
        *exist*)
            echo "migrate: user $name exists already: no first administrator created"
            remember
            exit 0 ;;
    esac
    echo "$err" >&2
    echo "migrate: could not create the first administrator $name" >&2
    exit 1
fi
cat <<BANNER
======================================================================
 callsift: first start. Log in to the web GUI as

     user:     $name
     password: $password

 This password is shown once and stored nowhere. Change it after you
 log in; to set a new one later:
     docker compose exec -T api callsift users reset-password $name
======================================================================
BANNER
remember
