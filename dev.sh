#!/usr/bin/env bash
# Set up everything (virtualenv, Python deps, Azurite) and run the sample app or the test suite.
#   ./dev.sh start [host options]   install (no test tools), then `python -m host start` in this folder
#   ./dev.sh test  [pytest options] install, then ruff, mypy (host/, tests/, bench/, samples/) and the whole pytest suite
#   ./dev.sh lint                   install, then ruff check and mypy
#   ./dev.sh unit  [pytest options] install, then the pure tests only (no Azurite, no processes; seconds)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

# Installs are skipped while pyproject.toml and package-lock.json are unchanged: a stamp in .venv
# (and node_modules) holds their checksum. `start` installs funchost and its dependencies only;
# test, lint and unit add the test tools (pytest, ruff, mypy).
fingerprint() {
  cat pyproject.toml package-lock.json | cksum | cut -d' ' -f1
}

setup() {
  local kind=$1 sum extras=""
  sum=$(fingerprint)
  if [ ! -x .venv/bin/python ]; then
    echo "dev.sh: creating the virtualenv .venv ($("$PY" --version 2>&1))"
    "$PY" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  fi
  if [ "$(cat .venv/.funchost-test 2>/dev/null)" = "$sum" ] \
      || { [ "$kind" = base ] && [ "$(cat .venv/.funchost-base 2>/dev/null)" = "$sum" ]; }; then
    : # installed and nothing changed
  else
    if [ "$kind" = test ]; then
      extras="[test]"
      echo "dev.sh: installing funchost (editable), its dependencies and the test tools (pytest, ruff, mypy) into .venv"
    else
      echo "dev.sh: installing funchost (editable) and its dependencies into .venv"
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras"
    echo "$sum" > ".venv/.funchost-$kind"
  fi
  local lock
  lock=$(cksum < package-lock.json | cut -d' ' -f1)
  if [ ! -x node_modules/.bin/azurite ] || [ "$(cat node_modules/.funchost-lock 2>/dev/null)" != "$lock" ]; then
    echo "dev.sh: installing Azurite (npm ci, pinned in package-lock.json) into node_modules"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock" > node_modules/.funchost-lock
  fi
}

cmd=${1:-start}
shift || true
case "$cmd" in
  start)
    setup base
    exec .venv/bin/python -m host start "$@"
    ;;
  test)
    setup test
    .venv/bin/ruff check host tests bench samples function_app.py
    .venv/bin/ruff format --check host tests bench samples function_app.py
    .venv/bin/mypy  # host/ strict; tests/, bench/, samples/ with the base settings ([tool.mypy] in pyproject.toml)
    exec .venv/bin/python -m pytest "$@"
    ;;
  lint)
    setup test
    .venv/bin/ruff check host tests bench samples function_app.py
    .venv/bin/ruff format --check host tests bench samples function_app.py
    exec .venv/bin/mypy
    ;;
  unit)
    setup test
    exec .venv/bin/python -m pytest --unit -q "$@"
    ;;
  *)
    echo "usage: ./dev.sh start|test|lint|unit [args]" >&2
    exit 2
    ;;
esac
