"""The admin controls without a tree: an actor that cannot answer gets an honest reply."""

from __future__ import annotations

from actors.admin_controls import AdminControls
from chat.arguments import BreakerRequest, CacheRequest
from chat.parsing import read_text
from messages.chat import ChatCommand
from supervision.address import Directory
from supervision.snapshot import ActorSnapshot, ChildState


def controls_with_closed(*names: str) -> AdminControls:
    directory = Directory()
    for name in names:
        directory[name].close("gone for the test")  # asks fail at once with ChildUnavailable
    return AdminControls(directory=directory, worker="command_worker_0",
                         snapshot=lambda: ActorSnapshot("root", ChildState.RUNNING, "supervisor"))


def command(text: str) -> ChatCommand:
    return ChatCommand(request_id="r1", chat_id=1, user_id=1, text=text, parsed=read_text(text))


def test_a_clear_the_cache_cannot_answer_says_it_may_not_have_happened() -> None:
    controls = controls_with_closed("cache")
    replies, outcome = controls.cache(command("/cache clear"), CacheRequest(clear=True), None)
    assert outcome == "unavailable" and "may not have happened" in replies[0].text


def test_a_reset_the_fetcher_cannot_answer_says_it_may_not_have_happened() -> None:
    controls = controls_with_closed("fetcher")
    replies, outcome = controls.breaker(command("/breaker reset"), BreakerRequest(reset=True))
    assert outcome == "unavailable" and "/breaker" in replies[0].text


def test_a_cache_that_cannot_describe_itself_is_said_so() -> None:
    controls = controls_with_closed("cache")
    replies, outcome = controls.cache(command("/cache"), CacheRequest(clear=False), None)
    assert "did not answer" in replies[0].text


def test_with_no_tree_to_ask_every_name_is_refused() -> None:
    controls = controls_with_closed("root")
    replies, outcome = controls.restart(command("/restart cache"), "cache")
    assert outcome == "usage" and "no actor called cache" in replies[0].text
