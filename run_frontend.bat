@echo off
chcp 65001 >nul
rem 啟動前端（Streamlit，連接埠 8501）。請先執行 run_backend.bat。
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
if "%FRONTEND_PORT%"=="" set FRONTEND_PORT=8501
if "%API_BASE_URL%"=="" set API_BASE_URL=http://localhost:%BACKEND_PORT%
rem 瀏覽器上傳元件的大小上限比後端的 MAX_UPLOAD_MB 大，太大的檔案由上傳頁以中文說明（和 run.sh 相同）。
for /f %%i in ('.venv\Scripts\python.exe -c "from backend.config import get_settings; print(get_settings().uploader_limit_mb)"') do set STREAMLIT_SERVER_MAX_UPLOAD_SIZE=%%i
echo 前端啟動中：http://localhost:%FRONTEND_PORT% （關閉此視窗即停止）
.venv\Scripts\python.exe -m streamlit run frontend\app.py --server.address 127.0.0.1 --server.port %FRONTEND_PORT% --server.headless true --browser.gatherUsageStats false
if errorlevel 1 echo 前端已停止。若顯示連接埠被占用，請關閉占用 %FRONTEND_PORT% 的程式，或先 set FRONTEND_PORT=8502 再執行。
pause
