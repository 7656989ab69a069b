#!/bin/sh
# Creates the Secret callsift-secrets with random passwords and signing keys (nothing is
# ever a default). Run once, before applying the manifests; it refuses to overwrite.
#   sh deploy/k8s/make-secrets.sh [NAMESPACE]
set -eu
ns=${1:-callsift}
if kubectl -n "$ns" get secret callsift-secrets >/dev/null 2>&1; then
    echo "callsift-secrets exists in namespace $ns: kept" >&2
    exit 0
fi
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
kubectl -n "$ns" create secret generic callsift-secrets \
    --from-literal=db-root-password="$(rand)" \
    --from-literal=db-password="$(rand)" \
    --from-literal=db-sensor-password="$(rand)" \
    --from-literal=api-secret-key="$(rand)" \
    --from-literal=gui-secret-key="$(rand)"
