"""What docs/events.md promises, and what the code's ``log_event`` calls can emit.

Shared by the static check (``tests/test_events_doc.py``) and the check against real log lines
(``tests/actors/test_events_logged.py``). A field is compared under the name the JSON line
gives it: a keyword that collides with one of the formatter's own keys comes out as
``field_<name>``, which is what made the documented ``level`` a ``field_level``.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.logs import _RESERVED_KEYS

REPO = Path(__file__).resolve().parents[1]
EVENTS_MD = REPO / "docs" / "events.md"
PRODUCT = ("actors", "chat", "core", "market", "messages", "ops", "resilience", "storage",
           "supervision", "bot.py")
ALWAYS_PRESENT = frozenset({"request_id"})
"""Keys the JSON formatter writes on every line (``request_id`` may be null)."""


@dataclass(frozen=True, slots=True)
class Documented:
    event: str
    fields: tuple[str, ...]
    """As written in the table; ``breaker_*`` stands for any key with that prefix."""


def documented_events(text: str | None = None) -> tuple[Documented, ...]:
    """Each event of the catalogue with a field list (rows whose fields are "..." and wildcard
    event names such as ``telegram.*`` promise no particular field and are left out)."""
    text = EVENTS_MD.read_text(encoding="utf-8") if text is None else text
    found = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        events = [name.strip(" `") for name in cells[0].split(" / ")]
        if cells[2] in ("...", ""):
            continue
        groups = [_fields(group) for group in cells[2].split(" / ")]
        for index, event in enumerate(events):
            if event.endswith("*"):
                continue
            fields = groups[index] if len(groups) == len(events) else groups[0]
            found.append(Documented(event, fields))
    return tuple(found)


def _fields(group: str) -> tuple[str, ...]:
    without_notes = re.sub(r"\([^)]*\)", "", group)
    return tuple(name.strip(" `") for name in without_notes.split(",") if name.strip(" `"))


def json_key(keyword: str) -> str:
    """The key a ``log_event`` keyword gets in the JSON line (``request_id`` is the line's
    own: ``log_event`` takes it out of the fields)."""
    if keyword == "request_id":
        return keyword
    return f"field_{keyword}" if keyword in _RESERVED_KEYS else keyword


def missing_fields(documented: Documented, keys: Iterable[str]) -> list[str]:
    """Documented fields absent from ``keys`` (the keys of one JSON line, or of a call site)."""
    present = set(keys) | ALWAYS_PRESENT
    missing = []
    for name in documented.fields:
        if name.endswith("*"):
            if not any(key.startswith(name[:-1]) for key in present):
                missing.append(name)
        elif name not in present:
            missing.append(name)
    return missing


@dataclass(frozen=True, slots=True)
class CallSite:
    path: str
    line: int
    events: tuple[str, ...]
    """The event names it can log; empty when the name is computed at run time."""
    keys: tuple[str, ...]
    """The JSON keys of its keyword fields."""
    spreads_fields: bool
    """True when it passes ``**fields``: its keys are known only at run time."""


@functools.cache
def log_event_sites(roots: tuple[str, ...] = PRODUCT) -> tuple[CallSite, ...]:
    """Every ``log_event(...)`` call in the product code, read from the source."""
    sites = []
    for root in roots:
        base = REPO / root
        for path in sorted([base] if base.is_file() else base.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _called(node) == "log_event":
                    sites.append(_site(path, node))
    return tuple(sites)


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _site(path: Path, node: ast.Call) -> CallSite:
    event = node.args[1] if len(node.args) > 1 else None
    names: tuple[str, ...] = ()
    if isinstance(event, ast.Constant) and isinstance(event.value, str):
        names = (event.value,)
    elif isinstance(event, ast.IfExp) and all(
            isinstance(branch, ast.Constant) for branch in (event.body, event.orelse)):
        names = (event.body.value, event.orelse.value)  # type: ignore[attr-defined]
    keywords = [k.arg for k in node.keywords if k.arg is not None and k.arg != "exc_info"]
    return CallSite(str(path.relative_to(REPO)), node.lineno, names,
                    tuple(json_key(k) for k in keywords),
                    any(k.arg is None for k in node.keywords))


def keys_by_event(sites: Iterable[CallSite]) -> Mapping[str, list[CallSite]]:
    by_event: dict[str, list[CallSite]] = {}
    for site in sites:
        for event in site.events:
            by_event.setdefault(event, []).append(site)
    return by_event
