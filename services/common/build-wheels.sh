#!/bin/sh
# Build stage of every callsift image: one wheel of callsift and one of each dependency into
# $1, from PyPI, or only from services/wheelhouse/ when wheels were put there (offline builds).
# Run from the source root. The build stage is identical in every service's Dockerfile, so the
# image builder makes it once and every image copies the same wheels.
set -eu
out=$1
python -m venv /tmp/build-venv
if ls services/wheelhouse/*.whl >/dev/null 2>&1; then
    set -- --no-index --find-links services/wheelhouse
    echo "build-wheels: offline, from services/wheelhouse"
else
    set --
fi
/tmp/build-venv/bin/pip install --no-cache-dir --disable-pip-version-check "$@" \
    'setuptools>=68' wheel
# The compiled hot path (docs/SENSOR.md "Compiled hot path"): mypyc, a C compiler and the
# Python headers are all in this stage, so the build compiles or fails (CALLSIFT_COMPILE=0
# for a pure-Python image).
CALLSIFT_COMPILE="${CALLSIFT_COMPILE:-1}" \
    /tmp/build-venv/bin/pip wheel --no-cache-dir --disable-pip-version-check "$@" \
    --wheel-dir "$out" .
ls "$out"
