# Sourced by the entrypoints: secrets generated on first start (services/migrate/init-secrets.sh)
# live in the `secrets` volume, one directory per consumer, readable only by its user.
SECRETS_DIR=${CALLSIFT_SECRETS_DIR:-/var/lib/callsift/secrets}

die() { echo "callsift: $*" >&2; exit 1; }

# secret PATH: the content of SECRETS_DIR/PATH, or a clear error naming it.
secret() {
    [ -r "$SECRETS_DIR/$1" ] || die "secret $SECRETS_DIR/$1 is missing or unreadable (the 'secrets' service creates it on first start)"
    cat "$SECRETS_DIR/$1"
}

# The database the stack's MariaDB serves, unless CALLSIFT_DB_URL names another.
DB_HOST=${CALLSIFT_DB_HOST:-db}
DB_NAME=${CALLSIFT_DB_NAME:-callsift}

# Compose passes every setting, empty when the user set none: an empty CALLSIFT_* variable
# means "the default", so it is removed rather than handed to callsift as an empty value.
for _var in $(env | sed -n 's/^\(CALLSIFT_[A-Z0-9_]*\)=$/\1/p'); do
    unset "$_var"
done
unset _var
