"""deploy/: the systemd template unit for N instances, the compose file with PostgreSQL, Redis and
two instances, and the image they run say what docs/scaling.md promises.

PyYAML is not a dependency, so compose.yaml is kept to block-style YAML (mappings, lists and
scalars, comments on their own lines) and read here by a reader of exactly that subset; any
other syntax makes the reader fail loudly rather than guess.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.config_catalogue import describe_settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
BOTS = ("bot-1", "bot-2")
Unit = dict[str, list[tuple[str, str]]]


# -- readers ----------------------------------------------------------------------------------

def read_unit(path: Path) -> Unit:
    """A systemd unit as section -> (key, value) in order (keys may repeat, as they do)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{line!r} before any section"
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [value for name, value in section if name == key]


def read_env_file(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


def read_block_yaml(text: str) -> Any:
    """Block-style YAML: ``key: value``, ``key:`` + an indented block, ``- item`` lists."""
    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip()) for raw in text.splitlines()
             if raw.strip() and not raw.strip().startswith("#")]
    value, end = _block(lines, 0, lines[0][0])
    assert end == len(lines), f"unread YAML from line {lines[end]}"
    return value


def _scalar(text: str) -> str | None:
    if text[:1] in "[{&*|>!":
        raise ValueError(f"not block-style YAML: {text!r}")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text or None


def _block(lines: list[tuple[int, str]], start: int, indent: int) -> tuple[Any, int]:
    is_list = lines[start][1].startswith("- ")
    result: Any = [] if is_list else {}
    index = start
    while index < len(lines) and lines[index][0] == indent:
        text = lines[index][1]
        if is_list:
            assert text.startswith("- "), f"a mapping line in a list: {text!r}"
            result.append(_scalar(text[2:].strip()))
            index += 1
            continue
        key, colon, rest = text.partition(":")
        assert colon and not key.startswith("- "), f"not a mapping line: {text!r}"
        index += 1
        if rest.strip():
            result[key] = _scalar(rest.strip())
        elif index < len(lines) and lines[index][0] > indent:
            result[key], index = _block(lines, index, lines[index][0])
        else:
            result[key] = None
    if index < len(lines):
        assert lines[index][0] < indent, f"bad indentation at {lines[index]}"
    return result, index


def test_the_yaml_reader_reads_nesting_lists_and_quotes_and_refuses_flow_style() -> None:
    text = "a:\n  b: 'x: y'\n  c:\n    - 1\n    - \"two\"\n  d:\ne: f\n"
    assert read_block_yaml(text) == {"a": {"b": "x: y", "c": ["1", "two"], "d": None}, "e": "f"}
    with pytest.raises(ValueError):
        read_block_yaml("a: [1, 2]\n")


# -- the systemd template unit ----------------------------------------------------------------

@pytest.fixture(scope="module")
def unit() -> Unit:
    return read_unit(DEPLOY / "cryptobot@.service")


def test_the_unit_names_each_instance_and_reads_a_shared_and_its_own_env_file(unit: Unit) -> None:
    service = unit["Service"]
    assert "CRYPTOBOT_INSTANCE_NAME=%i" in values(service, "Environment")
    files = values(service, "EnvironmentFile")
    assert files == ["/etc/cryptobot/cryptobot.env", "/etc/cryptobot/instance-%i.env"]
    assert values(service, "ExecStart")[0].split()[-1] == "run"
    assert values(unit["Install"], "WantedBy") == ["multi-user.target"]


def test_the_unit_restarts_on_failure_but_not_after_a_permanent_fault(unit: Unit) -> None:
    service = unit["Service"]
    assert values(service, "Restart") == ["on-failure"]
    assert values(service, "RestartPreventExitStatus") == ["2"]
    # The bot's own shutdown bound is 10 s; systemd must not SIGKILL it sooner.
    assert int(values(service, "TimeoutStopSec")[0]) > 10


def test_the_unit_is_hardened(unit: Unit) -> None:
    service = dict(unit["Service"])
    for key, wanted in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                        "PrivateTmp": "yes", "ProtectHome": "yes", "PrivateDevices": "yes",
                        "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": ""}.items():
        assert service.get(key) == wanted, key
    assert service["User"] != "root"


def test_the_example_env_files_give_each_instance_its_own_status_port() -> None:
    shared = read_env_file(DEPLOY / "cryptobot.env.example")
    ports = [read_env_file(DEPLOY / f"instance-{n}.env.example")["CRYPTOBOT_STATUS_PORT"]
             for n in (1, 2)]
    assert shared["CRYPTOBOT_DATABASE_URL"].startswith("postgresql://")
    assert shared["CRYPTOBOT_REDIS_URL"].startswith("redis://")
    assert len(set(ports)) == 2 and "9108" not in ports  # 9108 is the single bot's default


# -- compose ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = read_block_yaml((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_compose_runs_postgres_redis_and_two_instances_of_one_image(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *BOTS}
    assert {services[bot]["image"] for bot in BOTS} == {"cryptobot:local"}
    assert {services[bot]["build"]["dockerfile"] for bot in BOTS} == {"deploy/Dockerfile"}
    for engine in ("postgres", "redis"):
        assert services[engine]["healthcheck"]["test"], engine


def test_each_instance_has_the_shared_urls_and_its_own_name(compose: dict[str, Any]) -> None:
    services = compose["services"]
    envs = [services[bot]["environment"] for bot in BOTS]
    for env in envs:
        assert re.fullmatch(r"postgresql://cryptobot:\$\{POSTGRES_PASSWORD\}@postgres:5432/"
                            r"cryptobot", env["CRYPTOBOT_DATABASE_URL"])
        assert env["CRYPTOBOT_REDIS_URL"] == "redis://redis:6379/0"
        assert env["TELEGRAM_BOT_TOKEN"].startswith("${TELEGRAM_BOT_TOKEN")
    assert [env["CRYPTOBOT_INSTANCE_NAME"] for env in envs] == list(BOTS)


def test_each_instance_waits_for_healthy_engines_and_is_probed_on_healthz(
        compose: dict[str, Any]) -> None:
    for bot in BOTS:
        service = compose["services"][bot]
        assert service["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                         "redis": {"condition": "service_healthy"}}
        probe = " ".join(service["healthcheck"]["test"])
        port = service["environment"]["CRYPTOBOT_STATUS_PORT"]
        # The status server binds 127.0.0.1 only: the probe runs inside the container.
        assert f"http://127.0.0.1:{port}/healthz" in probe
        assert service["restart"].startswith("on-failure")


def test_every_bot_setting_the_deploy_files_set_exists() -> None:
    known = {info.env_var for info in describe_settings()}
    text = "\n".join((DEPLOY / name).read_text(encoding="utf-8") for name in (
        "compose.yaml", "cryptobot@.service", "cryptobot.env.example", "instance-1.env.example"))
    used = set(re.findall(r"\b(CRYPTOBOT_[A-Z_]+|TELEGRAM_BOT_TOKEN)\b", text))
    assert used and used <= known, used - known


# -- the image ----------------------------------------------------------------------------------

def test_the_image_installs_the_distributed_extras_and_runs_unprivileged() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    ignored = [line.strip() for line in
               (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    assert re.search(r"pip install \"[^\"]*\[postgres,redis\]\"", dockerfile)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert 'CMD ["run"]' in dockerfile
    # What pip needs to build the bot stays in the build context.
    for needed in ("setup.cfg", "pyproject.toml", "README.md", "bot.py", "core", "fakes"):
        assert needed not in ignored, needed
