"""The OpenAPI document says what the running service really does.

FastAPI derives it from the routes once; this adds what only the settings know:
- security (the `X-API-Key` scheme and 401 answers) only when `API_KEY` is set, so `/docs`
  offers "Authorize" exactly when a key is needed and clients are not told to send one
  that nobody checks;
- which file names the upload routes take (the allowed extensions), as a pattern on the
  `X-Filename` header and in the operations' descriptions.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from backend.config import Settings

UPLOAD_PATHS = ("/api/upload", "/api/upload/stream")


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace ``app.openapi`` with one that adjusts the generated document to ``settings``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            if not settings.api_key:
                _drop_security(document)
            _describe_uploads(document, settings.allowed_extensions)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_security(document: dict[str, Any]) -> None:
    document.get("components", {}).pop("securitySchemes", None)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
            operation.get("responses", {}).pop("401", None)


def filename_pattern(extensions: list[str]) -> str:
    """An ECMA-262 pattern for the ``X-Filename`` values the upload routes may take: a name
    ending in one of ``extensions``, in any letter case. The value is percent-decoded and
    then checked further (no path, control or Windows-forbidden characters, no reserved
    Windows name), which no pattern over the raw header can state exactly."""
    ext = "|".join(_any_case(e.lstrip(".")) for e in extensions)
    return rf"^.+\.(?:{ext})$"


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _describe_uploads(document: dict[str, Any], extensions: list[str]) -> None:
    accepted = "、".join(extensions)
    note = (
        f"\n\n接受的副檔名：{accepted}（不分大小寫）。檔名不可含路徑、控制字元或 "
        '< > : " | ? *，也不可是 Windows 保留名稱（CON、NUL、COM1…）。'
        "內容須與副檔名相符（例如 .csv 不可是 ZIP 或圖片），否則回應 422。"
    )
    for path in UPLOAD_PATHS:
        operation = document["paths"].get(path, {}).get("post")
        if operation is None:
            continue
        operation["description"] = (operation.get("description") or "") + note
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header" and parameter["name"] == "X-Filename":
                parameter["schema"]["pattern"] = filename_pattern(extensions)
