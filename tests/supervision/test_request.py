"""request(): a tell whose message carries the reply future, with the address's typed errors."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pykka
import pytest

from supervision.actor import SupervisedActor
from supervision.errors import AskTimeout, ChildUnavailable
from supervision.request import request, request_future
from supervision.spec import ChildSpec

TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Double:
    value: int
    reply_to: pykka.Future[Any]


@dataclass(frozen=True, slots=True)
class Refuse:
    reply_to: pykka.Future[Any]


@dataclass(frozen=True, slots=True)
class Ignore:
    reply_to: pykka.Future[Any]
    handled: threading.Event


class Replier(SupervisedActor):
    """Answers through the future in the message, as the db writer and the fetcher do."""

    def handle(self, message: Any) -> Any:
        match message:
            case Double(value=value, reply_to=reply_to):
                reply_to.set(value * 2)
            case Refuse(reply_to=reply_to):
                reply_to.set_exception(exc_info=(LookupError, LookupError("no such row"), None))
            case Ignore(handled=handled):
                handled.set()
            case _:
                return super().handle(message)
        return None


def replier_spec(name: str = "replier", **fields: Any) -> ChildSpec:
    return ChildSpec(name=name, factory=lambda ctx: Replier.start(ctx), **fields)


def test_the_reply_set_by_the_actor_is_returned(make_tree):
    tree = make_tree([replier_spec()])
    assert request(tree.address("replier"), lambda reply_to: Double(21, reply_to), TIMEOUT) == 42


def test_an_error_set_by_the_actor_is_raised(make_tree):
    tree = make_tree([replier_spec()])
    with pytest.raises(LookupError, match="no such row"):
        request(tree.address("replier"), Refuse, TIMEOUT)


def test_no_reply_in_time_raises_ask_timeout(make_tree):
    tree = make_tree([replier_spec()])
    handled = threading.Event()
    with pytest.raises(AskTimeout) as raised:
        request(tree.address("replier"), lambda reply_to: Ignore(reply_to, handled), 0.05)
    assert handled.wait(TIMEOUT)
    assert raised.value.name == "replier"
    assert isinstance(raised.value, ChildUnavailable)


def test_a_request_to_a_stopped_child_fails_at_once_with_child_unavailable(make_tree):
    tree = make_tree([replier_spec()])
    address = tree.address("replier")
    address.close("retired")
    with pytest.raises(ChildUnavailable, match="dead letter") as raised:
        request(address, lambda reply_to: Double(1, reply_to), 60.0)  # no waiting for 60 s
    assert not isinstance(raised.value, AskTimeout)


def test_a_request_to_a_lazy_child_starts_it_and_gets_the_answer(make_tree):
    tree = make_tree([replier_spec(lazy=True)])
    assert request(tree.address("replier"), lambda reply_to: Double(5, reply_to), TIMEOUT) == 10


def test_requests_in_flight_at_once_each_get_their_reply(make_tree):
    tree = make_tree([replier_spec()])
    address = tree.address("replier")
    futures = [request_future(address, lambda reply_to: Double(n, reply_to)) for n in range(5)]
    assert [future.get(timeout=TIMEOUT) for future in futures] == [0, 2, 4, 6, 8]
