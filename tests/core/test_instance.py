"""The instance id: one value per process naming host, pid and start time, and its text form."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time

import psutil
import pytest

from core.config import BotConfig
from core.config_loader import load_config
from core.errors import ConfigError
from core.instance import InstanceId, this_instance, valid_instance_name

__all__: list[str] = []

STARTED = 1_796_535_501.25  # 2026-12-06T05:38:21.25Z


def test_the_text_form_is_host_pid_and_whole_start_seconds() -> None:
    instance = InstanceId(host="bot-1.example", pid=4242, started_at=STARTED)
    assert instance.key == "bot-1.example:4242:1796535501"
    assert instance.started_iso == "2026-12-06T05:38:21Z"
    assert re.fullmatch(r"[A-Za-z0-9_.:-]+", instance.key)


def test_an_operator_name_is_the_text_form_and_the_facts_stay() -> None:
    named = InstanceId(host="bot-1", pid=7, started_at=STARTED, name="eu-west_2")
    assert named.key == "eu-west_2"
    assert (named.host, named.pid, named.started_iso) == ("bot-1", 7, "2026-12-06T05:38:21Z")


def test_uptime_counts_from_the_start_and_is_never_negative() -> None:
    instance = InstanceId(host="h", pid=1, started_at=STARTED)
    assert instance.uptime_s(STARTED + 3725) == 3725
    assert instance.uptime_s(STARTED - 5) == 0.0


def test_the_json_form_carries_every_fact() -> None:
    instance = InstanceId(host="h", pid=12, started_at=STARTED)
    assert instance.to_dict(STARTED + 60) == {
        "id": "h:12:1796535501", "host": "h", "pid": 12, "name": None,
        "started_at": STARTED, "started": "2026-12-06T05:38:21Z", "uptime_s": 60.0}


def test_the_id_is_frozen() -> None:
    instance = InstanceId(host="h", pid=1, started_at=STARTED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        instance.pid = 2  # type: ignore[misc]


@pytest.mark.parametrize("name", ["", "has space", "a:b", "ünï", "x" * 65, "a/b"])
def test_a_bad_name_is_refused(name: str) -> None:
    assert not valid_instance_name(name)
    with pytest.raises(ValueError):
        InstanceId(host="h", pid=1, started_at=STARTED, name=name)


def test_this_process_is_named_by_its_pid_host_and_creation_time() -> None:
    instance = this_instance()
    assert instance.pid == os.getpid()
    assert instance.started_at == psutil.Process().create_time()
    assert instance.host.replace("-", "") and instance.host[0] != "-"
    assert set(instance.host) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789_.-")
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", socket.gethostname()).strip("-")
    assert instance.host == (clean[:64] or "unknown-host")
    assert instance.started_at <= time.time()


def test_the_process_facts_are_read_once_so_every_caller_gets_the_same_id() -> None:
    assert this_instance() == this_instance()
    assert this_instance("blue").key == "blue"
    assert this_instance("blue").started_at == this_instance().started_at


def test_instance_name_setting_is_validated_and_empty_means_unset() -> None:
    assert BotConfig().instance_name is None
    assert load_config(environ={"CRYPTOBOT_INSTANCE_NAME": "bot-a.1"}).instance_name == "bot-a.1"
    assert load_config(environ={"CRYPTOBOT_INSTANCE_NAME": ""}).instance_name is None
    with pytest.raises(ConfigError) as refused:
        load_config(environ={"CRYPTOBOT_INSTANCE_NAME": "bot a"})
    assert refused.value.key == "CRYPTOBOT_INSTANCE_NAME"


def test_an_odd_host_name_is_made_safe_for_labels_and_keys(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from core import instance as module

    monkeypatch.setattr(socket, "gethostname", lambda: "my host/über:1")
    host, _ = module._process_facts.__wrapped__(os.getpid())
    assert host == "my-host-ber-1"
    monkeypatch.setattr(socket, "gethostname", lambda: "///")
    assert module._process_facts.__wrapped__(os.getpid())[0] == "unknown-host"


def test_without_the_process_table_the_start_is_the_first_moment_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from core import instance as module

    def denied(pid: int) -> psutil.Process:
        raise psutil.AccessDenied(pid)

    monkeypatch.setattr(psutil, "Process", denied)
    before = time.time()
    _, started = module._process_facts.__wrapped__(os.getpid())
    assert before <= started <= time.time()
