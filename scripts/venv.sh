#!/usr/bin/env bash
# make venv: .venv with tthc installed editable, with its test tools. The installer is uv,
# pinned and bootstrapped into the venv by pip (uv installs in seconds what pip takes minutes
# over); pip does the install itself only when uv cannot be had.
#
# Environment: PYTHON (python3), VENV (.venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
UV_VERSION=0.9.5
started=$SECONDS
step() { echo "== venv [$((SECONDS - started))s]: $*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
    step "creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
uv="$VENV/bin/uv"
if [[ "$("$uv" --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
    step "installing the installer uv $UV_VERSION into $VENV"
    "$VENV/bin/python" -m pip --version >/dev/null 2>&1 || "$VENV/bin/python" -m ensurepip >/dev/null
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "uv==$UV_VERSION" ||
        step "uv could not be installed: pip installs instead (several minutes)"
fi
if [[ "$("$uv" --version 2>/dev/null)" == "uv $UV_VERSION"* ]]; then
    step "installing tthc and its dependencies with uv"
    VIRTUAL_ENV="$(cd "$VENV" && pwd)" "$uv" pip install -e '.[test]'
else
    step "installing tthc and its dependencies with pip"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -e '.[test]'
fi
step "ready"
