@echo off
chcp 65001 >nul
rem 啟動後端（FastAPI，連接埠 8000）。第一次執行會建立虛擬環境並安裝套件。
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
if "%BACKEND_PORT%"=="" set BACKEND_PORT=8000
echo 後端啟動中：http://localhost:%BACKEND_PORT%/docs （關閉此視窗即停止）
.venv\Scripts\python.exe -m uvicorn backend.main:app --host 127.0.0.1 --port %BACKEND_PORT%
if errorlevel 1 echo 後端已停止。若顯示連接埠被占用，請關閉占用 %BACKEND_PORT% 的程式，或先 set BACKEND_PORT=8001 再執行。
pause
