"""The loopback service base: lifecycle, prompt stop, JSON and API-error answers, body limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fakes.loopback import ApiError, BodyError, LoopbackHandler, LoopbackService


class Refused(ApiError):
    status = 409

    def body(self) -> dict[str, object]:
        return {"refused": True}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "3"}


class Echo(LoopbackService):
    """Echoes JSON bodies; /hold waits until stopped; /refuse answers an ApiError."""

    service_name = "echo"
    thread_name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.held = threading.Event()

    def _dispatch(self, handler: LoopbackHandler, method: str) -> None:
        if handler.path == "/hold":
            self.held.set()
            self._stopping.wait(30)
            handler.hang_up()
        elif handler.path == "/refuse":
            handler.send_api_error(Refused())
        else:
            try:
                handler.send_json(200, {"method": method, "body": handler.read_json_body()})
            except BodyError as error:
                handler.send_json(400, {"error": str(error)})


@pytest.fixture
def echo() -> Iterator[Echo]:
    with Echo() as running:
        yield running


def test_it_answers_json_and_api_errors_on_loopback(echo: Echo) -> None:
    with requests.Session() as http:
        answer = http.post(echo.url + "/x", json={"a": 1}, timeout=5)
        refused = http.get(echo.url + "/refuse", timeout=5)
        not_json = http.post(echo.url + "/x", data=b"{", timeout=5)
        too_big = http.post(echo.url + "/x", data=b"1" * (64 * 1024 + 1), timeout=5)

    assert echo.url.startswith("http://127.0.0.1:")
    assert answer.json() == {"method": "POST", "body": {"a": 1}}
    assert answer.headers["Content-Type"] == "application/json"
    assert (refused.status_code, refused.json(), refused.headers["Retry-After"]) == (
        409, {"refused": True}, "3")
    assert "body is not JSON" in not_json.json()["error"]
    assert too_big.json() == {"error": "Request Entity Too Large"}


def test_stop_is_prompt_with_an_idle_keep_alive_client_and_a_held_request() -> None:
    echo = Echo().start()
    http = requests.Session()
    http.get(echo.url + "/x", timeout=5)  # leaves a keep-alive connection open
    errors: list[Any] = []
    holder = threading.Thread(target=lambda: _call(echo.url + "/hold", errors))
    holder.start()
    assert echo.held.wait(5)

    started = time.monotonic()
    echo.stop(timeout_s=5)

    assert time.monotonic() - started < 2
    holder.join(5)
    assert errors  # the held request was hung up on, not answered
    http.close()


def _call(url: str, errors: list[Any]) -> None:
    try:
        requests.get(url, timeout=10)
    except requests.RequestException as error:
        errors.append(error)


def test_lifecycle_errors_name_the_service() -> None:
    echo = Echo()
    with pytest.raises(RuntimeError, match="echo not started"):
        _ = echo.port
    with echo, pytest.raises(RuntimeError, match="echo already started"):
        echo.start()
    echo.stop()  # a second stop is harmless
    with pytest.raises(ValueError, match="only binds to loopback"):
        LoopbackService(host="0.0.0.0")
