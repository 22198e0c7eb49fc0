"""The fake Bot API over real HTTP, and one way to call it: as PTB encodes requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.telegram.bot_api import FakeBotApi

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def call(http: httpx.Client, fake: FakeBotApi, method: str, **params: Any) -> httpx.Response:
    """Encoded as PTB does: every non-string parameter json.dumps'd into a form field."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return http.post(f"{fake.base_url}{TOKEN}/{method}", data=form)
