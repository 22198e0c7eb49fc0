"""The admin controls end to end: a chat subtree on the real market subtree, the exchange
simulator on loopback, a recording transport in place of Telegram."""

from __future__ import annotations

import logging

import pytest

from chat.callbacks import RestartActorButton, encode
from chat.html import visible_text
from tests.actors.chat_fixtures import ADMIN, USER, make_chat  # noqa: F401 (fixture)


def texts(replies) -> str:
    return "\n".join(visible_text(r.text) for r in replies)


def final(replies):
    return [r for r in replies if r.final][-1]


@pytest.mark.parametrize("command", ["/restart fetch_worker_0", "/cache", "/cache clear",
                                     "/breaker reset", "/loglevel DEBUG"])
def test_each_control_is_not_available_to_a_non_admin(make_chat, command):
    chat = make_chat()
    name = command.split()[0]
    assert texts(chat.ask(command, user=USER)) == f"{name} is not available."


@pytest.mark.parametrize("command", ["/restart", "/restart Fetch-Worker!", "/cache flush",
                                     "/cache clear btc eth", "/breaker open", "/loglevel loud",
                                     "/loglevel DEBUG ../etc", "/loglevel"])
def test_a_bad_argument_gets_the_usage_and_an_example(make_chat, command):
    chat = make_chat()
    answer = texts(chat.ask(command, user=ADMIN))
    assert "Usage:" in answer and "Example:" in answer


def test_restart_refuses_the_root_and_unknown_names_with_the_names_it_accepts(make_chat):
    chat = make_chat()
    for name in ("root", "nobody"):
        answer = texts(chat.ask(f"/restart {name}", user=ADMIN))
        assert "Actors you can restart:" in answer and "fetch_worker_0" in answer
        assert "market" in answer and "root," not in answer


def test_restart_refuses_an_actor_that_is_not_running(make_chat):
    chat = make_chat()  # the chart actor is lazy: started by its first chart
    answer = texts(chat.ask("/restart chart", user=ADMIN))
    assert "chart is lazy, not running" in answer and "Actors you can restart:" in answer


def test_restart_of_a_worker_crashes_it_and_its_supervisor_brings_it_back(make_chat, caplog):
    chat = make_chat()
    with caplog.at_level(logging.WARNING, logger="actors.admin_controls"):
        request_id = chat.send("/restart fetch_worker_1", user=ADMIN)
        answer = texts(chat.outbox.final_for(request_id))
    assert "fetch_worker_1" in answer and "restarts: 0 → 1" in answer
    assert chat.tree.address("fetch_worker_1").wait_until_running(generation=2, timeout=10)
    assert chat.tree.snapshot().find("fetch_worker_1").restarts == 1
    audit = [r for r in caplog.records if getattr(r, "event", "") == "admin.restart"]
    assert audit and audit[0].fields["admin_id"] == ADMIN
    assert audit[0].request_id == request_id and audit[0].fields["supervisor"] == "market"


def test_a_supervisor_restarts_only_on_an_admins_confirm_press(make_chat):
    chat = make_chat()
    question = final(chat.ask("/restart market", user=ADMIN))
    assert "supervisor" in question.text and "fetcher" in question.text
    confirm, cancel = question.buttons[0]
    assert confirm.data == encode(RestartActorButton("market", True), ADMIN)
    assert chat.tree.snapshot().find("market").restarts == 0

    assert "cancelled" in texts(chat.press(cancel.data, user=ADMIN))
    # Someone who is not an admin never restarts anything, even with the admin's data.
    refused = chat.press(encode(RestartActorButton("market", True), USER), user=USER)
    assert refused[-1].toast == "This button is not available."
    assert chat.tree.snapshot().find("market").restarts == 0

    done = texts(chat.press(confirm.data, user=ADMIN))
    assert "market" in done and "restarts: 0 → 1" in done
    assert chat.tree.address("fetcher").wait_until_running(generation=2, timeout=15)
    assert chat.tree.snapshot().find("market").restarts == 1
    assert "BTCUSDT" in texts(chat.ask("/price btc"))


def in_flight(chat, request_ids, timeout: float = 10.0) -> bool:
    """Wait until each request shows its loading message: it has been at a worker 300 ms."""
    def loading(request_id: str) -> bool:
        return any(r.request_id == request_id and not r.final for r in chat.outbox.replies)
    with chat.outbox.changed:
        return chat.outbox.changed.wait_for(lambda: all(map(loading, request_ids)), timeout)


def test_restarting_a_busy_fetch_worker_loses_no_request_in_flight(make_chat, caplog):
    # Every upstream call queues on fetch_worker_0; a slow answer is slow, not a timeout.
    chat = make_chat(fetcher_pool_size=1, http_read_timeout_s=3.0)
    assert "BTCUSDT" in texts(chat.ask("/price btc"))  # symbols known
    chat.simulator.inject("slow", endpoint="/api/v3/klines", delay_s=0.7)
    ahead = {chat.send(f"/analysis {coin}"): coin for coin in ("eth", "sol", "xrp", "ada", "dot",
                                                                 "link", "ltc")}
    assert in_flight(chat, ahead)
    with caplog.at_level(logging.ERROR, logger="supervision.supervisor"):
        restart = texts(chat.ask("/restart fetch_worker_0", user=ADMIN))
        assert "restarts: 0 → 1" in restart
        # Sent once the crash order is in the worker's inbox: if it is still there ("busy"),
        # these requests queue behind it and must move to the next instance.
        behind = {chat.send(f"/analysis {coin}"): coin for coin in ("doge", "trx", "uni")}
        for request_id, coin in {**ahead, **behind}.items():
            answer = final(chat.outbox.final_for(request_id, timeout=30))
            assert f"{coin.upper()}USDT" in answer.text and "RSI" in answer.text, answer.text
        assert chat.tree.address("fetch_worker_0").wait_until_running(generation=2, timeout=10)
    assert chat.tree.snapshot().find("fetch_worker_0").restarts == 1
    crashes = [r for r in caplog.records if getattr(r, "event", "") == "actor.crashed"]
    assert [r.fields["actor"] for r in crashes] == ["fetch_worker_0"]
    if "busy" in restart:
        assert crashes[0].fields["queued"] >= 1, "nothing was queued behind the crash"


def test_cache_shows_each_layer_and_clear_empties_one_coin_then_everything(make_chat):
    chat = make_chat()
    chat.ask("/analysis btc")
    chat.ask("/price eth")
    shown = texts(chat.ask("/cache", user=ADMIN))
    assert all(layer in shown for layer in ("raw:", "computed:", "charts:"))
    assert "entries" in shown and "hit" in shown

    one = texts(chat.ask("/cache clear btc", user=ADMIN))
    assert "Cleared BTCUSDT" in one and "computed: 1 entries" in one
    everything = texts(chat.ask("/cache clear", user=ADMIN))
    assert "Cleared everything" in everything and "holds 0 B" in everything
    assert "BTCUSDT" in texts(chat.ask("/cache clear btcc", user=ADMIN))  # did you mean


def test_breaker_shows_an_open_breaker_and_reset_closes_it(make_chat):
    chat = make_chat(breaker_failure_threshold=1)
    chat.ask("/price btc")
    chat.simulator.inject("5xx", endpoint="*", status=503)
    chat.ask("/analysis sol")
    shown = texts(chat.ask("/breaker", user=ADMIN))
    assert "exchange (fetcher): open" in shown and "next trial in" in shown
    chat.simulator.clear_faults()
    assert "open → closed" in texts(chat.ask("/breaker reset", user=ADMIN))
    assert "exchange (fetcher): closed" in texts(chat.ask("/breaker", user=ADMIN))
    assert "already closed" in texts(chat.ask("/breaker reset", user=ADMIN))


def test_loglevel_changes_an_existing_logger_and_says_what_it_was(make_chat):
    chat = make_chat()
    subject = logging.getLogger("actors.fetcher")
    before = subject.level
    try:
        subject.setLevel(logging.INFO)
        answer = texts(chat.ask("/loglevel debug actors.fetcher", user=ADMIN))
        assert "actors.fetcher: INFO → DEBUG" in answer
        assert subject.level == logging.DEBUG
    finally:
        subject.setLevel(before)
    assert "No logger" in texts(chat.ask("/loglevel DEBUG made.up.name", user=ADMIN))
    assert "made.up.name" not in logging.Logger.manager.loggerDict
