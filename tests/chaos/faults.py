"""The fault matrix: every fault the issue names, each with how to inject and clear it."""

from __future__ import annotations

import random
from collections.abc import Callable

from supervision.messages import InjectCrash
from tests.chaos.matrix import Fault
from tests.chaos.rig import ChaosRig

__all__ = ["FAULTS"]

_RNG = random.Random(7)


def _nothing(rig: ChaosRig) -> None:
    """Some faults clear themselves (a crash is over once the actor restarted)."""


Action = Callable[[ChaosRig], None]


def _exchange(mode: str, **options: object) -> tuple[Action, Action]:
    return (lambda rig: rig.exchange_fault(mode, **options),
            lambda rig: rig.clear_exchange_faults())


def _refuse_all(rig: ChaosRig) -> None:
    rig.refuse_connections(0)
    rig.refuse_connections(1)


def _accept_all(rig: ChaosRig) -> None:
    rig.accept_connections(0)
    rig.accept_connections(1)


def _telegram(mode: str, **options: object) -> tuple[Action, Action]:
    return (lambda rig: rig.telegram.inject("*", mode, None, **options),
            lambda rig: rig.telegram.clear_faults())


_GARBAGE_UPDATES = (
    {"update_id": 0, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                                 "from": {"id": 5, "is_bot": False, "first_name": "x"}}},
    {"update_id": 0, "edited_message": {"message_id": 1, "date": 0, "text": "/price btc",
                                        "chat": {"id": 5, "type": "private"}}},
    {"update_id": 0, "callback_query": {"id": "q", "chat_instance": "c", "data": "\x00garbage",
                                        "from": {"id": 5, "is_bot": False, "first_name": "x"}}},
    {"update_id": 0, "poll": {"id": "p", "question": "?", "options": []}},
    {"update_id": 0, "my_chat_member": {"chat": {"id": 5, "type": "group"}}},
    {"update_id": 0, "message": {"message_id": 2, "date": 0, "text": "/price@otherbot btc",
                                 "chat": {"id": 6, "type": "group", "title": "g"},
                                 "from": {"id": 6, "is_bot": False, "first_name": "y"}}},
)


def _garbage_updates(rig: ChaosRig) -> None:
    for update in _GARBAGE_UPDATES * 5:
        rig.telegram.push_raw_update(dict(update))


def _crash_each(rig: ChaosRig) -> None:
    """Every running actor in turn, each armed so it dies on its next real message."""
    for name in rig.actor_names():
        rig.bot.address(name).tell(InjectCrash(f"chaos: {name}", armed=True))


def _crash_several(rig: ChaosRig) -> None:
    """Four actors at once (one per subtree where possible), crashed immediately."""
    names = [n for n in rig.actor_names() if not n.startswith(("storage", "market", "chat"))]
    for name in _RNG.sample(names, 4):
        rig.bot.address(name).tell(InjectCrash(f"chaos: {name} with others"))


def _write_probe_ok(reply: str) -> bool:
    return "saved" in reply


def _any_reply(reply: str) -> bool:
    return bool(reply)


FAULTS: tuple[Fault, ...] = (
    Fault("5xx from every base URL", "exchange", *_exchange("5xx"), blocks_exchange=True,
          fast=True),
    Fault("timeouts (no answer)", "exchange", *_exchange("timeout", delay_s=60),
          blocks_exchange=True),
    Fault("slow responses (2 s)", "exchange", *_exchange("slow", delay_s=2.0)),
    Fault("malformed JSON", "exchange", *_exchange("malformed"), blocks_exchange=True),
    Fault("429 with Retry-After 3", "exchange", *_exchange("429", retry_after_s=3),
          blocks_exchange=True, fast=True),
    Fault("418 ban, Retry-After 5", "exchange", *_exchange("418", retry_after_s=5),
          blocks_exchange=True),
    Fault("connection refused (all URLs)", "exchange", _refuse_all, _accept_all,
          blocks_exchange=True),
    Fault("first base URL refused", "exchange", lambda rig: rig.refuse_connections(0),
          lambda rig: rig.accept_connections(0), fast=True),
    Fault("429 flood control", "telegram", *_telegram("429", retry_after_s=2), fast=True,
          probe_ok=_any_reply),
    Fault("5xx", "telegram", *_telegram("5xx", status=502), probe_ok=_any_reply),
    Fault("dropped connections", "telegram", *_telegram("drop"), probe_ok=_any_reply),
    Fault("malformed/unexpected updates", "telegram", _garbage_updates, _nothing,
          probe_ok=_any_reply, fast=True),
    Fault("crash every actor in turn", "actors", _crash_each, _nothing, fast=True),
    Fault("crash four actors at once", "actors", _crash_several, _nothing),
    Fault("database locked", "storage", lambda rig: rig.hold_db_lock(),
          lambda rig: rig.release_db_lock(), probe="/alert btc above 99999999",
          probe_ok=_write_probe_ok, fast=True),
    Fault("read-only database file", "storage",
          lambda rig: rig.storage_fault.switch_on("read_only"),
          lambda rig: rig.storage_fault.switch_off(), probe="/alert btc above 99999998",
          probe_ok=_write_probe_ok),
    Fault("disk full", "storage", lambda rig: rig.storage_fault.switch_on("disk_full"),
          lambda rig: rig.storage_fault.switch_off(), probe="/alert btc above 99999997",
          probe_ok=_write_probe_ok),
    Fault("forced memory pressure", "memory", lambda rig: rig.allocate(500),
          lambda rig: rig.free(), fast=True),
)
