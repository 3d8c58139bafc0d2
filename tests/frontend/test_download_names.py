"""Download names in the frontend carry no invisible format characters (bidi controls,
zero-width characters): from the real backend, and from a backend that still sent them."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from urllib.parse import quote

import pytest

from frontend.utils.api_client import APIClient
from tests.frontend.conftest import wait_task
from tests.frontend.test_api_client import Reply, stub_server

CSV = "編號,城市\n1,臺北市\n".encode()


def test_an_upload_named_to_pose_as_another_file_downloads_under_its_real_name(
    client: APIClient,
) -> None:
    task = client.upload_file("報價單\u202excs.csv", CSV)
    assert task["filename"] == "報價單xcs.csv"
    done = wait_task(client, task["task_id"])
    assert done["status"] == "completed", done["error"]
    assert "U+202E（由右至左覆寫）" in done["result"]["warnings"][0]
    assert client.download_result(task["task_id"]).filename == "報價單xcs_分析結果.json"
    report = client.download_result(task["task_id"], "xlsx")
    assert report.filename == "報價單xcs_分析報告.xlsx"


def utf8_name(name: str) -> str:
    return "attachment; filename*=UTF-8''" + quote(name)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (utf8_name("報價單\u202excs_分析結果.json"), "報價單xcs_分析結果.json"),
        (utf8_name("\u2067月報\u2069\u200b.json"), "月報.json"),
        (utf8_name("\ufeff\u200d"), "result.json"),  # nothing left: the fallback
        ('attachment; filename="plain.json"', "plain.json"),
        ("attachment", "result.json"),
    ],
)
def test_a_name_from_an_older_backend_is_cleaned(disposition: str, expected: str) -> None:
    def respond(_request: BaseHTTPRequestHandler) -> Reply:
        headers = {"Content-Type": "application/json", "Content-Disposition": disposition}
        return 200, headers, b"{}"

    with stub_server(respond) as url:
        assert APIClient(url).download_result("t1").filename == expected
