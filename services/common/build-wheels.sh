#!/bin/sh
# Build stage of every callsift image: one wheel of callsift and one of each dependency into
# $1, from PyPI, or only from services/wheelhouse/ when wheels were put there (offline builds).
# Run from the source root. The build stage is identical in every service's Dockerfile, so the
# image builder makes it once and every image copies the same wheels.
#
# callsift's wheel has the compiled hot path (docs/SENSOR.md "Compiled hot path"): mypyc, a C
# compiler and the Python headers are all in this stage, so the build compiles or fails.
# CALLSIFT_COMPILE=0 builds a pure-Python image.
set -eu
out=$1
compile="${CALLSIFT_COMPILE:-1}"
pip="/tmp/build-venv/bin/pip"
python -m venv /tmp/build-venv
if ls services/wheelhouse/*.whl >/dev/null 2>&1; then
    set -- --no-cache-dir --disable-pip-version-check --no-index --find-links services/wheelhouse
    echo "build-wheels: offline, from services/wheelhouse"
else
    set -- --no-cache-dir --disable-pip-version-check
fi
"$pip" install "$@" 'setuptools>=68' wheel
# every dependency, and a pure callsift wheel
CALLSIFT_COMPILE=0 "$pip" wheel "$@" --wheel-dir "$out" .
if [ "$compile" != 0 ]; then
    # mypyc type-checks the hot modules against the real dependencies: they and mypy go into
    # the build environment, then callsift is built again there, compiled
    mypy_req=$(sed -n 's/^MYPY_REQ = "\(.*\)"$/\1/p' setup.py)
    "$pip" install "$@" --find-links "$out" "$out"/callsift-*.whl "$mypy_req"
    rm "$out"/callsift-*.whl
    CALLSIFT_COMPILE=1 "$pip" wheel "$@" --no-deps --no-build-isolation --wheel-dir "$out" .
fi
ls "$out"
