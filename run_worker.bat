@echo off
chcp 65001 >nul
rem 啟動 Celery worker（TASK_RUNNER=celery 時執行任務的行程）。第一次執行會建立虛擬環境並安裝套件。
rem .env 要設定和後端相同的 TASK_STORE=redis://...（與 UPLOAD_DIR），詳見 docs\operations.md 的「多台機器」。
cd /d "%~dp0"
if not exist .venv\Scripts\python.exe (
  echo 建立虛擬環境 .venv ...
  py -3 -m venv .venv 2>nul || python -m venv .venv
  if errorlevel 1 (
    echo 錯誤：找不到 Python 3.11 以上，請先從 https://www.python.org 安裝。
    pause
    exit /b 1
  )
)
echo 安裝相依套件 ...
.venv\Scripts\python.exe -m pip install --quiet --disable-pip-version-check -r requirements.txt
if errorlevel 1 (
  echo 錯誤：安裝套件失敗，請檢查網路連線後再試一次。
  pause
  exit /b 1
)
rem 專案本身以可編輯模式安裝，backend 與 frontend 從任何位置都能匯入；已安裝的是這個資料夾就略過。
.venv\Scripts\python.exe -I -c "import os, sys, frontend; sys.exit(not os.path.samefile(frontend.__path__[0], 'frontend'))" 2>nul
if errorlevel 1 .venv\Scripts\python.exe -m pip install -qq --disable-pip-version-check --no-deps -e .
if errorlevel 1 (
  echo 錯誤：安裝專案失敗，請檢查網路連線後再試一次。
  pause
  exit /b 1
)
if not exist .env copy .env.example .env >nul
rem worker 與後端必須共用同一個 Redis：TASK_STORE 不是 redis:// 就不啟動。
.venv\Scripts\python.exe -c "import sys; from backend.config import get_settings; sys.exit(0 if get_settings().task_store.startswith(('redis://', 'rediss://')) else 2)" 2>nul
if errorlevel 2 (
  echo 錯誤：worker 需要 Redis。請在 .env 設定和後端相同的 TASK_STORE=redis://:密碼@Redis主機:6379/0，
  echo 後端另外設定 TASK_RUNNER=celery。詳見 docs\operations.md 的「多台機器」。
  pause
  exit /b 1
)
if errorlevel 1 (
  echo 錯誤：.env 的設定有誤，請對照 .env.example 修正。
  pause
  exit /b 1
)
rem Windows 不能用 Celery 預設的 prefork；threads 在每個平台都能用（任務本來就在各自的子行程執行）。
echo Celery worker 啟動中，看到「ready」即可接收任務（關閉此視窗即停止）
.venv\Scripts\python.exe -m celery -A backend.worker worker --pool threads --loglevel INFO
if errorlevel 1 echo worker 已停止。若顯示無法連線到 Redis，請確認 .env 的 TASK_STORE 與 Redis 主機的防火牆。
pause
