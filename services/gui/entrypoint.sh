#!/bin/sh
# `gui` service: the web pages, talking to the API on the stack's network.
set -eu
. /usr/local/lib/callsift/secrets.sh

if [ -z "${CALLSIFT_GUI_SECRET_KEY:-}" ]; then
    CALLSIFT_GUI_SECRET_KEY=$(secret gui/secret-key)
fi
# the GUI's own key under both names (settings key gui.secret_key; the contract);
# this container holds no other key
CALLSIFT_SECRET_KEY=$CALLSIFT_GUI_SECRET_KEY
export CALLSIFT_GUI_SECRET_KEY CALLSIFT_SECRET_KEY
exec callsift gui --api "${CALLSIFT_GUI_API_URL:-http://api:8000}" --host 0.0.0.0 --port 8080 "$@"
