"""The lab's internet host answers the detection URLs as the open internet does."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from porchlight.lab.internet_host import APPLE_SUCCESS, HOME_MARKER, make_server


@pytest.fixture
def base_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/generate_204", 204, ""),
        ("/hotspot-detect.html", 200, APPLE_SUCCESS),
        ("/connecttest.txt", 200, "Microsoft Connect Test"),
        ("/ncsi.txt", 200, "Microsoft NCSI"),
        ("/success.txt", 200, "success\n"),
    ],
)
def test_detection_urls_say_online(base_url, path, status, body):
    answer = requests.get(base_url + path, timeout=5)
    assert answer.status_code == status
    assert answer.text == body


def test_apple_page_is_exactly_apples():
    assert APPLE_SUCCESS == "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"


def test_firefox_canonical_page(base_url):
    answer = requests.get(base_url + "/canonical.html", timeout=5)
    assert answer.status_code == 200
    assert "captive-portal" in answer.text


def test_home_page_says_it_is_the_internet_host(base_url):
    answer = requests.get(base_url + "/", headers={"Host": "internet.test"}, timeout=5)
    assert answer.status_code == 200
    assert HOME_MARKER in answer.text
    assert "internet.test" in answer.text


def test_unknown_path_is_404_from_the_internet_host(base_url):
    answer = requests.get(base_url + "/nope", timeout=5)
    assert answer.status_code == 404
    assert HOME_MARKER in answer.text
