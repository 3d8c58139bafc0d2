#!/usr/bin/env bash
# 建立虛擬環境、安裝相依套件並執行全部測試（後端、前端、瀏覽器端對端）。
# 額外參數會傳給 pytest，例如：./test.sh tests/backend -k upload
# ./test.sh --fast：快速測試，只用記憶體與 SQLite 儲存區；不含瀏覽器、長時間壓力測試、Redis、
# Celery 與少數耗時的測試（pyproject.toml 的 markers），其餘參數同樣傳給 pytest。
# ./test.sh --install-only：只建立環境、安裝套件，不執行測試（.ci/run 先用它，再做 scripts/lint）。
set -euo pipefail
cd "$(dirname "$0")"

PYTHON_BIN="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "錯誤：需要 Python 3.11 以上（目前：$("$PYTHON_BIN" --version 2>&1 || echo 找不到 $PYTHON_BIN)）。" >&2
    exit 1
  fi
  echo "建立虛擬環境 .venv ..."
  "$PYTHON_BIN" -m venv .venv
fi

fast=0 install_only=0
case "${1:-}" in
  --fast) fast=1; shift ;;
  --install-only) install_only=1; shift ;;  # .ci/run: set up, lint, then the tests
esac

# pip runs only when the requirements or pyproject.toml changed since the last install here
# (their hash is kept in .venv).
stamp=.venv/.requirements-hash
wanted=$(cat requirements*.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "安裝相依套件 ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" >"$stamp"
fi
# The project itself, installed in place so that `backend` and `frontend` import from anywhere;
# again only when the installed copy is not this folder (-qq: setuptools warns about every
# editable install).
installed_here='import os, sys, frontend; sys.exit(not os.path.samefile(frontend.__path__[0], "frontend"))'
if ! .venv/bin/python -I -c "$installed_here" 2>/dev/null; then
  .venv/bin/python -m pip install -qq --disable-pip-version-check --no-deps -e .
fi

if [ "$install_only" = 1 ]; then
  exit 0
fi
if [ "$fast" = 1 ]; then
  echo "執行快速測試（不含 e2e、soak、redis、celery、slow）..."
  exec .venv/bin/python -m pytest -m "not e2e and not soak and not redis and not celery and not slow" "$@"
fi
echo "執行測試 ..."
exec .venv/bin/python -m pytest "$@"
