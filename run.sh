#!/usr/bin/env bash
# 一個指令啟動整個應用：建立虛擬環境、安裝套件、準備 .env，啟動後端（8000）與前端（8501）。
# 按 Ctrl-C 會同時停止兩者。連接埠可用 BACKEND_PORT、FRONTEND_PORT 環境變數更改。
set -euo pipefail
cd "$(dirname "$0")"

BACKEND_PORT="${BACKEND_PORT:-8000}"
FRONTEND_PORT="${FRONTEND_PORT:-8501}"
HOST="${HOST:-127.0.0.1}"
PYTHON_BIN="${PYTHON:-python3}"
LOG_DIR="logs"

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "錯誤：需要 Python 3.11 以上（目前：$("$PYTHON_BIN" --version 2>&1 || echo 找不到 $PYTHON_BIN)）。" >&2
    exit 1
  fi
  echo "建立虛擬環境 .venv ..."
  "$PYTHON_BIN" -m venv .venv
fi
echo "安裝相依套件（第一次需要幾分鐘）..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
# The project itself, installed in place so that `backend` and `frontend` import from anywhere;
# again only when the installed copy is not this folder (-qq: setuptools warns about every
# editable install).
installed_here='import os, sys, frontend; sys.exit(not os.path.samefile(frontend.__path__[0], "frontend"))'
if ! .venv/bin/python -I -c "$installed_here" 2>/dev/null; then
  .venv/bin/python -m pip install -qq --disable-pip-version-check --no-deps -e .
fi

if [ ! -f .env ]; then
  cp .env.example .env
  echo "已從 .env.example 建立 .env，可依需要修改設定。"
fi

# The uploader in the browser has its own size cap; keep it equal to the backend's limit.
settings_error=$(mktemp)
if ! upload_mb=$(.venv/bin/python -c "import math; from backend.config import get_settings; print(max(1, math.ceil(get_settings().max_upload_mb)))" 2>"$settings_error"); then
  echo "錯誤：.env 的設定有誤，請對照 .env.example 修正：" >&2
  grep -E "^[A-Za-z_]+$|^  " "$settings_error" | head -n 10 >&2
  rm -f "$settings_error"
  exit 1
fi
rm -f "$settings_error"
export STREAMLIT_SERVER_MAX_UPLOAD_SIZE="$upload_mb"

port_free() {
  .venv/bin/python - "$HOST" "$1" <<'PY'
import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((sys.argv[1], int(sys.argv[2])))
    except OSError:
        sys.exit(1)
PY
}
for port in "$BACKEND_PORT" "$FRONTEND_PORT"; do
  if ! port_free "$port"; then
    echo "錯誤：連接埠 $port 已被其他程式占用。" >&2
    echo "請關閉占用的程式（查詢：lsof -i :$port），或改用其他連接埠，例如：" >&2
    echo "  BACKEND_PORT=8001 FRONTEND_PORT=8502 ./run.sh" >&2
    exit 1
  fi
done

mkdir -p "$LOG_DIR"
pids=()
stopping=""
cleanup() {
  stopping=1
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo
    echo "正在停止後端與前端 ..."
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap cleanup INT TERM EXIT

.venv/bin/python -m uvicorn backend.main:app --host "$HOST" --port "$BACKEND_PORT" \
  >"$LOG_DIR/backend.log" 2>&1 &
pids+=($!)
API_BASE_URL="http://localhost:$BACKEND_PORT" .venv/bin/python -m streamlit run frontend/app.py \
  --server.address "$HOST" --server.port "$FRONTEND_PORT" --server.headless true \
  --browser.gatherUsageStats false >"$LOG_DIR/frontend.log" 2>&1 &
pids+=($!)

wait_until_up() {  # name url log
  for _ in $(seq 1 120); do
    if .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$2" 2>/dev/null; then
      return 0
    fi
    for pid in "${pids[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "錯誤：$1 啟動失敗，以下是日誌最後幾行（完整內容在 $3）：" >&2
        tail -n 20 "$3" >&2
        exit 1
      fi
    done
    sleep 0.5
  done
  echo "錯誤：$1 在 60 秒內沒有回應，請查看 $3。" >&2
  exit 1
}
wait_until_up "後端" "http://$HOST:$BACKEND_PORT/" "$LOG_DIR/backend.log"
wait_until_up "前端" "http://$HOST:$FRONTEND_PORT/_stcore/health" "$LOG_DIR/frontend.log"

echo
echo "✅ 已啟動："
echo "   前端（請用瀏覽器開啟）：http://localhost:$FRONTEND_PORT"
echo "   後端 API 文件：          http://localhost:$BACKEND_PORT/docs"
echo "   日誌：$LOG_DIR/backend.log、$LOG_DIR/frontend.log"
echo "按 Ctrl-C 停止。"
status=0
wait -n "${pids[@]}" || status=$?
# Ctrl-C in a terminal reaches the services too, which may exit before the trap runs:
# a clean exit (0) or one by SIGINT/SIGTERM (130/143) is a stop, not a crash.
if [ -z "$stopping" ] && [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
  echo "有一個服務意外結束（結束碼 $status），請查看 $LOG_DIR/ 內的日誌。" >&2
  exit 1
fi
