"""Every message class is a frozen, slotted dataclass whose fields hold nothing mutable."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

import messages
import supervision.messages

MUTABLE_HINTS = ("list[", "dict[", "set[", "bytearray", "List[", "Dict[", "Set[")


def message_modules() -> list[object]:
    """The application's messages/ package and the supervision runtime's own messages."""
    modules: list[object] = [
        importlib.import_module(f"messages.{info.name}")
        for info in pkgutil.iter_modules(messages.__path__)
    ]
    return [*modules, supervision.messages]


def message_classes() -> list[type]:
    found = []
    for module in message_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if isinstance(obj, type) and dataclasses.is_dataclass(obj):
                found.append(obj)
    return found


def test_the_messages_package_defines_message_classes():
    assert len(message_classes()) >= 8


@pytest.mark.parametrize("cls", message_classes(), ids=lambda c: c.__qualname__)
def test_message_class_is_frozen_and_slotted(cls: type) -> None:
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen, f"{cls.__name__} is not frozen"
    assert "__slots__" in cls.__dict__, f"{cls.__name__} has no __slots__"


@pytest.mark.parametrize("cls", message_classes(), ids=lambda c: c.__qualname__)
def test_message_fields_are_not_mutable_containers(cls: type) -> None:
    for field in dataclasses.fields(cls):
        hint = str(field.type)
        assert not any(bad in hint for bad in MUTABLE_HINTS), f"{cls.__name__}.{field.name}: {hint}"


@pytest.mark.parametrize("cls", message_classes(), ids=lambda c: c.__qualname__)
def test_assigning_to_a_message_field_raises(cls: type) -> None:
    # Annotations stay strings (postponed evaluation; some name types imported for checking
    # only), so sample values are chosen from the annotation text.
    samples = {"str": "x", "int": 1, "float": 1.0, "bool": True}
    values = {field.name: samples.get(str(field.type), ()) for field in dataclasses.fields(cls)}
    instance = cls(**values)
    for field in dataclasses.fields(cls):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(instance, field.name, None)
    with pytest.raises((AttributeError, TypeError, dataclasses.FrozenInstanceError)):
        instance.__dict__  # slotted instances carry no attribute dict


def test_the_supervision_runtime_messages_are_covered():
    assert supervision.messages.ChildFailed in message_classes()
