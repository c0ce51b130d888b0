#!/usr/bin/env bash
# Set up everything (virtualenv, Python deps, Azurite) and run the sample app or the test suite.
#   ./dev.sh start [host options]   install, then `python -m host start` in this folder
#   ./dev.sh test  [pytest options] install, then ruff, mypy and the whole pytest suite
#   ./dev.sh lint                   install, then ruff check and mypy
#   ./dev.sh unit  [pytest options] install, then the pure tests only (no Azurite, no processes; seconds)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  if [ ! -x node_modules/.bin/azurite ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

cmd=${1:-start}
shift || true
case "$cmd" in
  start)
    setup
    exec .venv/bin/python -m host start "$@"
    ;;
  test)
    setup
    .venv/bin/ruff check host tests bench samples function_app.py
    .venv/bin/mypy
    exec .venv/bin/python -m pytest "$@"
    ;;
  lint)
    setup
    .venv/bin/ruff check host tests bench samples function_app.py
    exec .venv/bin/mypy
    ;;
  unit)
    setup
    exec .venv/bin/python -m pytest --unit -q "$@"
    ;;
  *)
    echo "usage: ./dev.sh start|test|lint|unit [args]" >&2
    exit 2
    ;;
esac
