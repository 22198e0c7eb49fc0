"""The primed simulator repeats each market-data answer it worked out, and still counts calls."""

from __future__ import annotations

import requests

from fakes.scale.primed import PrimedSimulator


def test_a_repeated_query_gets_the_first_answer_and_is_still_counted() -> None:
    with PrimedSimulator() as simulator, requests.Session() as http:
        def klines() -> bytes:
            answer = http.get(f"{simulator.base_url}/api/v3/klines", timeout=5,
                              params={"symbol": "BTCUSDT", "interval": "1h", "limit": "50"})
            answer.raise_for_status()
            return answer.content

        first, second = klines(), klines()
        other = http.get(f"{simulator.base_url}/api/v3/klines", timeout=5,
                         params={"symbol": "ETHUSDT", "interval": "1h", "limit": "50"})

        assert first == second and other.content != first
        assert simulator.repeated == 1
        assert simulator.counters()["requests"] == {"/api/v3/klines": 3}


def test_errors_are_not_kept() -> None:
    with PrimedSimulator() as simulator, requests.Session() as http:
        url = f"{simulator.base_url}/api/v3/ticker/price"
        statuses = [http.get(url, params={"symbol": "NOPEUSDT"}, timeout=5).status_code
                    for _ in range(2)]

        assert statuses == [400, 400] and simulator.repeated == 0
