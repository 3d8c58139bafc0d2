#!/usr/bin/env bash
# 一個指令啟動整個應用：建立虛擬環境、安裝套件、準備 .env，啟動後端（8000）與前端（8501）。
# 按 Ctrl-C 會同時停止兩者。連接埠可用 BACKEND_PORT、FRONTEND_PORT 環境變數更改。
# ./run.sh --scale：另外啟動 Redis（任務清單與佇列，資料在 .redis/）與一個 Celery worker，
# 後端以 2 個行程執行：和多台機器的部署相同，只是都在這台電腦上。需要 redis-server。
set -euo pipefail
cd "$(dirname "$0")"

SCALE=""
if [ $# -gt 1 ] || { [ $# -eq 1 ] && [ "$1" != "--scale" ]; }; then
  echo "錯誤：不認得的參數「$*」。用法：./run.sh 或 ./run.sh --scale" >&2
  exit 2
elif [ $# -eq 1 ]; then
  SCALE=1
fi
if [ -n "$SCALE" ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "錯誤：./run.sh --scale 需要 Redis，但找不到 redis-server。請先安裝：" >&2
  echo "  Debian／Ubuntu：sudo apt-get install redis-server" >&2
  echo "  macOS（Homebrew）：brew install redis" >&2
  echo "安裝後再執行 ./run.sh --scale；只在一台電腦上使用時，./run.sh 不需要 Redis。" >&2
  exit 1
fi

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
# pip runs only when requirements.txt or pyproject.toml changed since the last install here.
stamp=.venv/.run-requirements-hash
wanted=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "安裝相依套件（第一次需要幾分鐘）..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$wanted" >"$stamp"
fi
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

# The uploader in the browser has its own size cap: set above the backend's limit, so that
# a file too big is refused by the upload page in zh-TW (see Settings.uploader_limit_mb).
settings_error=$(mktemp)
if ! upload_mb=$(.venv/bin/python -c "from backend.config import get_settings; print(get_settings().uploader_limit_mb)" 2>"$settings_error"); then
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

if [ -n "$SCALE" ]; then
  # REDIS_PORT when given must be free; otherwise 6379, or any free port if 6379 is taken
  # (for instance by the system's own Redis service).
  if [ -n "${REDIS_PORT:-}" ]; then
    if ! HOST=127.0.0.1 port_free "$REDIS_PORT"; then
      echo "錯誤：Redis 的連接埠 $REDIS_PORT 已被其他程式占用，請改用其他連接埠，例如：" >&2
      echo "  REDIS_PORT=6390 ./run.sh --scale" >&2
      exit 1
    fi
  else
    REDIS_PORT=$(.venv/bin/python - <<'PY'
import socket
for port in (6379, 0):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
PY
)
  fi
  # These win over .env: the store and the queue are this Redis, for the API and the worker.
  export TASK_STORE="redis://127.0.0.1:$REDIS_PORT/0"
  export TASK_RUNNER=celery
  export CELERY_BROKER_URL=""
fi

mkdir -p "$LOG_DIR"
pids=()
redis_pid=""
stopping=""
cleanup() {
  stopping=1
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo
    if [ -n "$SCALE" ]; then
      echo "正在停止 worker、後端與前端 ..."
    else
      echo "正在停止後端與前端 ..."
    fi
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  # Redis goes last: the worker and the API record their final task states in it.
  if [ -n "$redis_pid" ]; then
    echo "正在停止 Redis ..."
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap cleanup INT TERM EXIT

exit_if_one_died() {  # name log
  for pid in "${pids[@]}" $redis_pid; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "錯誤：$1 啟動失敗，以下是日誌最後幾行（完整內容在 $2）：" >&2
      tail -n 20 "$2" >&2
      exit 1
    fi
  done
}

if [ -n "$SCALE" ]; then
  mkdir -p .redis
  # Its own process group (set -m), so a Ctrl-C in the terminal does not reach Redis: it is
  # stopped by cleanup, after the processes that still write to it.
  set -m
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
    --dir "$PWD/.redis" --appendonly yes --save "" --maxmemory-policy noeviction \
    --daemonize no --logfile "" >"$LOG_DIR/redis.log" 2>&1 &
  redis_pid=$!
  set +m
  redis_ping='import socket, sys; s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1); s.sendall(b"PING\r\n"); sys.exit(not s.recv(64).startswith(b"+PONG"))'
  for attempt in $(seq 1 301); do
    if .venv/bin/python -c "$redis_ping" "$REDIS_PORT" 2>/dev/null; then
      break
    fi
    exit_if_one_died "Redis" "$LOG_DIR/redis.log"
    if [ "$attempt" -eq 301 ]; then
      echo "錯誤：Redis 在 30 秒內沒有回應，請查看 $LOG_DIR/redis.log。" >&2
      exit 1
    fi
    sleep 0.1
  done
  .venv/bin/celery -A backend.worker worker --loglevel INFO >"$LOG_DIR/worker.log" 2>&1 &
  pids+=($!)
  .venv/bin/python -m uvicorn backend.main:app --host "$HOST" --port "$BACKEND_PORT" --workers 2 \
    >"$LOG_DIR/backend.log" 2>&1 &
  pids+=($!)
else
  .venv/bin/python -m uvicorn backend.main:app --host "$HOST" --port "$BACKEND_PORT" \
    >"$LOG_DIR/backend.log" 2>&1 &
  pids+=($!)
fi
API_BASE_URL="http://localhost:$BACKEND_PORT" .venv/bin/python -m streamlit run frontend/app.py \
  --server.address "$HOST" --server.port "$FRONTEND_PORT" --server.headless true \
  --browser.gatherUsageStats false >"$LOG_DIR/frontend.log" 2>&1 &
pids+=($!)

wait_until_up() {  # name url log
  for _ in $(seq 1 120); do
    if .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$2" 2>/dev/null; then
      return 0
    fi
    exit_if_one_died "$1" "$3"
    sleep 0.5
  done
  echo "錯誤：$1 在 60 秒內沒有回應，請查看 $3。" >&2
  exit 1
}
wait_until_up "後端" "http://$HOST:$BACKEND_PORT/" "$LOG_DIR/backend.log"
wait_until_up "前端" "http://$HOST:$FRONTEND_PORT/_stcore/health" "$LOG_DIR/frontend.log"

if [ -n "$SCALE" ]; then
  # The worker is ready once the API counts it among the workers online (its first heartbeat).
  worker_online='import json, sys, urllib.request; sys.exit((json.load(urllib.request.urlopen(sys.argv[1], timeout=1)).get("workers_online") or 0) < 1)'
  for attempt in $(seq 1 121); do
    if .venv/bin/python -c "$worker_online" "http://$HOST:$BACKEND_PORT/" 2>/dev/null; then
      break
    fi
    exit_if_one_died "Celery worker" "$LOG_DIR/worker.log"
    if [ "$attempt" -eq 121 ]; then
      echo "錯誤：Celery worker 在 60 秒內沒有上線，請查看 $LOG_DIR/worker.log。" >&2
      exit 1
    fi
    sleep 0.5
  done
fi

echo
echo "✅ 已啟動："
echo "   前端（請用瀏覽器開啟）：http://localhost:$FRONTEND_PORT"
echo "   後端 API 文件：          http://localhost:$BACKEND_PORT/docs"
if [ -n "$SCALE" ]; then
  echo "   Redis（任務清單與佇列）：$TASK_STORE（資料在 .redis/）"
  echo "   Celery worker 1 個，後端 2 個行程"
  echo "   日誌：$LOG_DIR/backend.log、$LOG_DIR/frontend.log、$LOG_DIR/worker.log、$LOG_DIR/redis.log"
  echo "   再加一個 worker（另開終端機）："
  echo "     TASK_STORE=$TASK_STORE TASK_RUNNER=celery .venv/bin/celery -A backend.worker worker"
else
  echo "   日誌：$LOG_DIR/backend.log、$LOG_DIR/frontend.log"
fi
echo "按 Ctrl-C 停止。"
status=0
wait -n "${pids[@]}" $redis_pid || status=$?
# Ctrl-C in a terminal reaches the services too, which may exit before the trap runs:
# a clean exit (0) or one by SIGINT/SIGTERM (130/143) is a stop, not a crash.
if [ -z "$stopping" ] && [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
  echo "有一個服務意外結束（結束碼 $status），請查看 $LOG_DIR/ 內的日誌。" >&2
  exit 1
fi
